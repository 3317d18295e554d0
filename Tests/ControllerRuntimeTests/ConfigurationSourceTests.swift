import ConfigurationWatch
import Foundation
import KubernetesClient
import LoadBalancerConfig
import Logging
import Testing

/// The configuration both daemons run with, read from files (the same rules hold for metallb.io objects): read
/// again only on change, all or nothing, the last good one in force, ConfigurationState written on a new verdict.
@Suite("Configuration source")
struct ConfigurationSourceTests {
    static let valid = """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: pool, namespace: metallb-system}
        spec: {addresses: [192.0.2.0/24]}

        """

    @Test("a rejected configuration names its culprit and leaves the last good one in force; verdicts on change only")
    func lastGoodInForce() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("beacon-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pools.yaml")
        try Self.valid.write(to: file, atomically: true, encoding: .utf8)
        let client = try KubernetesClient(configuration: ClientConfiguration(server: "http://127.0.0.1:1"))
        let source = ConfigurationSource(client: client, namespace: "metallb-system", files: [file.path], withSecrets: false,
                                         logger: Logger(label: "test"))
        do { try check(source, file: file) } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    func check(_ source: ConfigurationSource, file: URL) throws {
        #expect(source.hasSynced)
        #expect(source.current == nil)

        let first = source.refresh()
        guard case .loaded(let loaded, changed: true) = first else { Issue.record("\(first)"); return }
        #expect(loaded.configuration.pools.map(\.name) == ["pool"])
        #expect(source.verdict(after: first) == .init(result: "Valid", error: ""))
        let again = source.refresh()
        guard case .unchanged = again else { Issue.record("\(again)"); return }
        #expect(source.verdict(after: again) == nil)

        // Invalid: the error names the file and the object; the pool stays in force.
        try Self.valid.replacingOccurrences(of: "192.0.2.0/24", with: "192.0.2.0/33").write(to: file, atomically: true, encoding: .utf8)
        let bad = source.refresh()
        guard case .rejected(let error) = bad else { Issue.record("\(bad)"); return }
        #expect(error.description.contains("pools.yaml") && error.description.contains("IPAddressPool/pool"), "\(error)")
        #expect(source.current?.pools.map(\.name) == ["pool"])
        let verdict = try #require(source.verdict(after: bad))
        #expect(verdict.result == "Invalid" && verdict.error == error.description)

        // The same content written again (a new stamp, the same verdict): nothing new to write.
        try Self.valid.replacingOccurrences(of: "192.0.2.0/24", with: "192.0.2.0/33").write(to: file, atomically: true, encoding: .utf8)
        let repeated = source.refresh()
        guard case .rejected = repeated else { Issue.record("\(repeated)"); return }
        #expect(source.verdict(after: repeated) == nil)

        // Back to the good one: loaded, unchanged from the one in force, and Valid is written again.
        try Self.valid.write(to: file, atomically: true, encoding: .utf8)
        let back = source.refresh()
        guard case .loaded(_, changed: false) = back else { Issue.record("\(back)"); return }
        #expect(source.verdict(after: back)?.result == "Valid")

        // A file that is gone is an error that names it.
        try FileManager.default.removeItem(at: file)
        let gone = source.refresh()
        guard case .rejected(let missing) = gone else { Issue.record("\(gone)"); return }
        #expect(missing.description.contains("cannot read configuration file \(file.path)"))
        #expect(source.current?.pools.map(\.name) == ["pool"])
    }
}

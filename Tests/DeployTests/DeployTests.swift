import Foundation
import LoadBalancerConfig
import TestSupport
import Testing

/// deploy/ against the emulator with real kubectl, and its example configuration against Beacon's own loader.
/// (The offline schema checks are `make check-deploy`, which `make test` runs first.)
@Suite("deploy/ manifests", .dedicatedThreads)
struct DeployTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("kustomize base, HA overlay, Helm chart and examples apply to kube-emulator")
    func applyToEmulator() throws {
        // Run from the source tree: the script sources Tests/Support/emulator-checks.sh.
        let script = Self.root.appendingPathComponent("Tests/DeployTests/Fixtures/apply-deploy.sh")
        let (status, text) = try runProcess("/bin/bash", [script.path, Self.root.appendingPathComponent(".build/debug/kube-emulator").path, Self.root.path])
        let failures = text.split(separator: "\n").filter { !$0.hasPrefix("ok: ") }
        #expect(status == 0, "\(failures.joined(separator: "\n"))")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("ok: ") }.count == 18)
    }

    @Test("the example configuration is valid for Beacon", arguments: ["layer2.yaml", "bgp.yaml"])
    func examplesLoad(file: String) throws {
        let url = Self.root.appendingPathComponent("deploy/examples/\(file)")
        let text = try String(contentsOf: url, encoding: .utf8)
        let loaded = try ConfigurationLoader().load([ConfigSource(name: file, text: text)])
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings.map(\.summary))")
        #expect(loaded.configuration.pools.count == 1)
    }
}

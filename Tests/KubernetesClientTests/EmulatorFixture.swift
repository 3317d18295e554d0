import Foundation
import KubernetesModel
import Synchronization
@testable import KubernetesClient
@testable import KubernetesEmulator

/// An emulator over real HTTPS on a free loopback port, with a token file and a data directory, that a test can
/// stop and start again on the same port (to test restarts mid-watch).
final class EmulatorFixture: Sendable {
    let directory: URL
    let certificates: SelfSignedCertificates
    let tokenPath: String
    let historyLimit: Int
    private let port = Mutex(0)

    init(historyLimit: Int = 100_000, token: String = "test-token") throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("beacon-emu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        certificates = try SelfSignedCertificates(hosts: ["127.0.0.1", "localhost"])
        tokenPath = directory.appendingPathComponent("tokens").path
        try token.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        self.historyLimit = historyLimit
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func setServerTokens(_ tokens: [String]) throws {
        try tokens.joined(separator: "\n").write(toFile: tokenPath, atomically: true, encoding: .utf8)
    }

    func makeState() throws -> EmulatorState {
        let counter = Mutex(0)
        let store = ObjectStore(historyLimit: historyLimit, now: {
            let f = ISO8601DateFormatter()
            return f.string(from: Date())
        }, makeUID: { "uid-\(counter.withLock { $0 += 1; return $0 })-\(UUID().uuidString.prefix(8))" })
        return try EmulatorState(store: store, dataDirectory: directory.appendingPathComponent("data"))
    }

    /// Runs the server while `body` runs (then stops it). The first run picks a port; later runs reuse it.
    func serve<T: Sendable>(bookmarkInterval: Duration = .seconds(10), _ body: @Sendable (EmulatorServer) async throws -> T) async throws -> T {
        let state = try makeState()
        let tokenPath = self.tokenPath
        let handler = APIHandler(state: state, serverAddress: "127.0.0.1", tokens: {
            guard let d = FileManager.default.contents(atPath: tokenPath) else { return [] }
            return Set(String(decoding: d, as: UTF8.self).split(separator: "\n").map(String.init))
        })
        let server = try await EmulatorServer(handler: handler, options: .init(host: "127.0.0.1", port: port.withLock { $0 },
                                                                               tls: try certificates.serverConfiguration(),
                                                                               bookmarkInterval: bookmarkInterval))
        port.withLock { $0 = server.port }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await server.run(); return nil }
            defer { group.cancelAll() }
            let result = try await body(server)
            group.cancelAll()
            while let _ = try await group.next() {}
            return result
        }
    }

    var url: String { "https://127.0.0.1:\(port.withLock { $0 })" }

    func clientConfiguration(token: String = "test-token") -> ClientConfiguration {
        var c = ClientConfiguration(server: url, certificateAuthorityPEM: Array(certificates.caPEM.utf8), credentials: .token(token))
        c.qps = 0
        c.http2 = true  // the daemons' default is HTTP/1.1 (real processes in the other suites); these tests cover HTTP/2
        return c
    }

    func withClient<T: Sendable>(_ config: ClientConfiguration? = nil, _ body: (KubernetesClient) async throws -> T) async throws -> T {
        let client = try KubernetesClient(configuration: config ?? clientConfiguration())
        do {
            let r = try await body(client)
            await client.shutdown()
            return r
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

func service(_ name: String, namespace: String = "default", labels: [String: String]? = nil, type: String = "LoadBalancer") -> Service {
    Service(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels),
            spec: ServiceSpec(type: type, ports: [ServicePortSpec(port: 80)], selector: ["app": name]))
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

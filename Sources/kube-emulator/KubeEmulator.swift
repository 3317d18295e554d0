// kube-emulator: the Kubernetes API server subset Beacon's tests and demo run against (see Docs/cli.md).
import BeaconVersion
import ArgumentParser
import Foundation
import KubernetesEmulator
import Logging
import ServiceLifecycle
import Synchronization

@main
struct KubeEmulator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube-emulator",
        abstract: "A Kubernetes API server subset (HTTPS, watch, discovery) that kubectl and Beacon talk to.",
        version: BeaconVersion.string)

    @Option(help: "Address to listen on.") var address = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one; the chosen port is printed).") var port = 6443
    @Flag(help: "Serve plain HTTP instead of HTTPS.") var insecureHTTP = false
    @Option(help: "File of accepted bearer tokens, one per line; re-read when it changes. Without it, no authentication.")
    var tokenFile: String?
    @Option(help: "Directory for objects that survive a restart (snapshot plus write-ahead log).") var dataDir: String?
    @Option(help: "Directory for ca.crt, tls.crt and tls.key (default: the data directory, else a temporary one).")
    var certDir: String?
    @Option(help: "Write a kubeconfig for this server here (uses the first token of --token-file).") var writeKubeconfig: String?
    @Option(help: "Changes kept for watches; older resourceVersions get 410 Gone.") var historyLimit = 100_000
    @Option(help: "Seconds between watch bookmarks (for watches that allow them).") var bookmarkInterval = 10.0

    func run() async throws {
        var store = ObjectStore(historyLimit: historyLimit, now: { Self.timestamp() }, makeUID: { UUID().uuidString.lowercased() })
        store.historyLimit = historyLimit
        let state = try EmulatorState(store: store, dataDirectory: dataDir.map { URL(fileURLWithPath: $0) })
        let tokens = TokenFile(path: tokenFile)
        let scheme = insecureHTTP ? "http" : "https"
        var tls: SelfSignedCertificates?
        if !insecureHTTP {
            let dir = certDir ?? dataDir ?? NSTemporaryDirectory() + "kube-emulator-\(getpid())"
            tls = try Self.certificates(in: dir, address: address)
        }
        let handler = APIHandler(state: state, serverAddress: "\(address):\(port)", tokens: { tokens.current() })
        let server = try await EmulatorServer(
            handler: handler,
            options: .init(host: address, port: port, tls: try tls?.serverConfiguration(),
                           bookmarkInterval: .milliseconds(Int(bookmarkInterval * 1000))))
        let host = address.contains(":") ? "[\(address)]" : address
        let url = "\(scheme)://\(host):\(server.port)"
        if let writeKubeconfig {
            try Self.kubeconfig(server: url, ca: tls?.caPEM, token: tokens.current()?.sorted().first)
                .write(toFile: writeKubeconfig, atomically: true, encoding: .utf8)
        }
        print("kube-emulator listening on \(url)")
        fflush(nil)
        // SIGTERM/SIGINT: close every watch and the listening socket, then exit 0.
        var logger = Logger(label: "kube-emulator")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [ServerService(server: server)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    /// Reuses ca.crt/tls.crt/tls.key from the directory when present, so kubeconfigs stay valid across restarts.
    static func certificates(in dir: String, address: String) throws -> SelfSignedCertificates {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let paths = ["ca.crt", "tls.crt", "tls.key"].map { "\(dir)/\($0)" }
        if paths.allSatisfy(fm.fileExists(atPath:)),
           let ca = fm.contents(atPath: paths[0]), let crt = fm.contents(atPath: paths[1]), let key = fm.contents(atPath: paths[2]) {
            var certs = try SelfSignedCertificates(hosts: [])
            certs.caPEM = String(decoding: ca, as: UTF8.self)
            certs.certificatePEM = String(decoding: crt, as: UTF8.self)
            certs.privateKeyPEM = String(decoding: key, as: UTF8.self)
            return certs
        }
        var hosts = ["localhost", "127.0.0.1", "::1", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
        if !hosts.contains(address), address != "0.0.0.0", address != "::" { hosts.append(address) }
        let certs = try SelfSignedCertificates(hosts: hosts)
        try certs.caPEM.write(toFile: paths[0], atomically: true, encoding: .utf8)
        try certs.certificatePEM.write(toFile: paths[1], atomically: true, encoding: .utf8)
        try certs.privateKeyPEM.write(toFile: paths[2], atomically: true, encoding: .utf8)
        chmod(paths[2], 0o600)
        return certs
    }

    static func kubeconfig(server: String, ca: String?, token: String?) -> String {
        var cluster = "    server: \(server)\n"
        if let ca { cluster += "    certificate-authority-data: \(Data(ca.utf8).base64EncodedString())\n" }
        let user = token.map { "    token: \($0)\n" } ?? "    {}\n"
        return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: beacon-emulator
          cluster:
        \(cluster)users:
        - name: beacon
          user:
        \(user)contexts:
        - name: beacon-emulator
          context:
            cluster: beacon-emulator
            user: beacon
            namespace: default
        current-context: beacon-emulator

        """
    }
}

/// The server as a ServiceLifecycle service: serves until graceful shutdown.
struct ServerService: Service {
    let server: EmulatorServer
    func run() async throws {
        try await cancelWhenGracefulShutdown { try await server.run() }
    }
}

/// The accepted tokens, re-read whenever the file's modification time or size changes.
final class TokenFile: Sendable {
    let path: String?
    private let cache = Mutex<(stamp: String, tokens: Set<String>)>(("", []))

    init(path: String?) { self.path = path }

    func current() -> Set<String>? {
        guard let path else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        let stamp = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec).\(st.st_size).\(st.st_ino)"
        return cache.withLock { c in
            if c.stamp != stamp, let data = FileManager.default.contents(atPath: path) {
                c.tokens = Set(String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
                c.stamp = stamp
            }
            return c.tokens
        }
    }
}

import Foundation
import KubernetesModel
import TestSupport
import Testing
@testable import KubernetesClient
@testable import KubernetesEmulator

@Suite("Client configuration, authentication, rate limit, malformed requests", .dedicatedThreads)
struct ConfigurationTests {
    static func write(_ text: String, _ name: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func tempDir() throws -> URL {
        let d = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("beacon-kc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    static let kubeconfigs: [(name: String, yaml: String, expect: String)] = [
        ("token and CA data", """
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443/", certificate-authority-data: "UEVN"}}]
        users: [{name: u, user: {token: abc}}]
        contexts: [{name: x, context: {cluster: c, user: u, namespace: edge}}]
        current-context: x
        """, "https://10.0.0.1:6443 ca=PEM insecure=false token(abc) ns=edge"),
        ("token file relative to the kubeconfig, CA file", """
        clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: ca.pem}}]
        users: [{name: u, user: {tokenFile: tok}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
        """, "https://h:1 ca=CAFILE insecure=false tokenFile(tok) ns=default"),
        ("insecure, client certificate from data", """
        clusters: [{name: c, cluster: {server: "https://h:1", insecure-skip-tls-verify: true}}]
        users: [{name: u, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
        """, "https://h:1 ca=none insecure=true cert(CERT,KEY) ns=default"),
        ("no current context", """
        clusters: [{name: c, cluster: {server: "https://h:1"}}]
        contexts: [{name: x, context: {cluster: c}}]
        """, "error: no current-context is set"),
        ("context names a missing cluster", """
        contexts: [{name: x, context: {cluster: nope}}]
        current-context: x
        """, "error: cluster \"nope\" of context \"x\" not found"),
        ("certificate without key", """
        clusters: [{name: c, cluster: {server: "https://h:1"}}]
        users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
        """, "error: user \"u\" needs both a client certificate and a key"),
        ("bad base64", """
        clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: "!!"}}]
        contexts: [{name: x, context: {cluster: c}}]
        current-context: x
        """, "error: certificate-authority-data is not valid base64"),
        ("plain scalars read by their fields: null, ~, a quoted \"true\", a bool in block style", """
        preferences: null
        clusters:
        - name: c
          cluster:
            server: "https://h:1"
            insecure-skip-tls-verify: yes
        users: [{name: u, user: {token: "true"}}]
        contexts: [{name: x, context: {cluster: c, user: u, namespace: ~}}]
        current-context: x
        """, "https://h:1 ca=none insecure=true token(true) ns=default"),
        ("an empty file", "", "error: the file is empty"),
    ]

    static func summary(_ c: ClientConfiguration) -> String {
        let ca = c.certificateAuthorityPEM.map { String(decoding: $0, as: UTF8.self) } ?? "none"
        let creds: String
        switch c.credentials {
        case .none: creds = "none"
        case .token(let t): creds = "token(\(t))"
        case .tokenFile(let f): creds = "tokenFile(\((f as NSString).lastPathComponent))"
        case .clientCertificate(let cert, let key): creds = "cert(\(String(decoding: cert, as: UTF8.self)),\(String(decoding: key, as: UTF8.self)))"
        }
        return "\(c.server) ca=\(ca) insecure=\(c.insecureSkipTLSVerify) \(creds) ns=\(c.namespace)"
    }

    /// Each kubeconfig shape resolves to the expected server, trust, credentials and namespace, or a clear error.
    @Test("kubeconfig loading", arguments: kubeconfigs.indices)
    func kubeconfig(_ i: Int) throws {
        let (_, yaml, expected) = Self.kubeconfigs[i]
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Self.write("CAFILE", "ca.pem", in: dir)
        _ = try Self.write("t0", "tok", in: dir)
        let path = try Self.write(yaml, "config", in: dir)
        do {
            #expect(Self.summary(try ClientConfiguration.load(kubeconfig: path)) == expected)
        } catch {
            #expect("error: " + error.description.replacing("kubeconfig \(path): ", with: "") == expected)
        }
    }

    /// In-cluster: the service account's CA, token file and namespace; KUBECONFIG wins over in-cluster.
    @Test("in-cluster configuration and resolution order")
    func inCluster() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Self.write("CA", "ca.crt", in: dir)
        _ = try Self.write("sa-token", "token", in: dir)
        _ = try Self.write("metallb-system\n", "namespace", in: dir)
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let c = try ClientConfiguration.inCluster(environment: env, root: dir.path)
        #expect(Self.summary(c) == "https://10.96.0.1:443 ca=CA insecure=false tokenFile(token) ns=metallb-system")
        #expect(throws: KubernetesClientError.self) { try ClientConfiguration.inCluster(environment: [:], root: dir.path) }
        let kc = try Self.write("clusters: [{name: c, cluster: {server: \"https://k:1\"}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n", "kc", in: dir)
        #expect(try ClientConfiguration.resolve(kubeconfig: nil, environment: env.merging(["KUBECONFIG": kc]) { a, _ in a }).server == "https://k:1")
        #expect(try ClientConfiguration.resolve(kubeconfig: kc, environment: [:]).server == "https://k:1")
    }

    /// A rotated token file is picked up on the next request; an old token is refused with 401 Unauthorized.
    @Test("bearer token rotation and Unauthorized")
    func tokenRotation() async throws {
        let emu = try EmulatorFixture(token: "first")
        try await emu.serve { _ in
            let tokenFile = emu.directory.appendingPathComponent("client-token").path
            try "first".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            var config = emu.clientConfiguration()
            config.credentials = .tokenFile(tokenFile)
            try await emu.withClient(config) { client in
                _ = try await client.list(.services)
                try emu.setServerTokens(["second"])
                do {
                    _ = try await client.list(.services)
                    Issue.record("the old token must be refused")
                } catch let error as KubernetesClientError {
                    #expect(error.code == 401)
                    #expect(error.reason == "Unauthorized")
                }
                try "second".write(toFile: tokenFile, atomically: true, encoding: .utf8)
                #expect(try await client.list(.services).items.isEmpty)
            }
        }
    }

    /// The TLS certificate is verified against the configured CA: a client trusting another CA cannot connect.
    @Test("TLS verification against the configured CA")
    func tlsVerification() async throws {
        let emu = try EmulatorFixture()
        let other = try SelfSignedCertificates(hosts: ["127.0.0.1"])
        try await emu.serve { _ in
            var config = emu.clientConfiguration()
            config.connectTimeout = .seconds(1)
            config.certificateAuthorityPEM = Array(other.caPEM.utf8)
            try await emu.withClient(config) { client in
                do {
                    _ = try await client.list(.services)
                    Issue.record("an untrusted server certificate must fail")
                } catch let error as KubernetesClientError {
                    guard case .transport = error else { Issue.record("expected a transport error, got \(error)"); return }
                }
            }
            config.certificateAuthorityPEM = nil
            config.insecureSkipTLSVerify = true
            try await emu.withClient(config) { client in _ = try await client.list(.services) }
        }
    }

    /// QPS 20 with burst 1: 11 requests cannot finish in under 0.45 s (a lower bound, so a slow machine cannot fail it).
    @Test("client-side rate limit")
    func rateLimit() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            var config = emu.clientConfiguration()
            config.qps = 20
            config.burst = 1
            try await emu.withClient(config) { client in
                let start = ContinuousClock.now
                for _ in 0..<11 { _ = try await client.list(.namespaces) }
                #expect(ContinuousClock.now - start >= .milliseconds(450))
            }
        }
    }

    static let malformed: [(name: String, method: HTTPMethodName, path: String, contentType: String, body: String, code: Int, reason: String)] = [
        ("bad JSON", .POST, "/api/v1/namespaces/default/services", "application/json", "{\"kind\": ", 400, "BadRequest"),
        ("wrong kind in the body", .POST, "/api/v1/namespaces/default/services", "application/json",
         "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\"}}", 400, "BadRequest"),
        ("wrong apiVersion", .POST, "/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools", "application/json",
         "{\"kind\":\"IPAddressPool\",\"apiVersion\":\"metallb.io/v9\",\"metadata\":{\"name\":\"x\"}}", 400, "BadRequest"),
        ("unknown kind", .GET, "/apis/example.com/v1/widgets", "application/json", "", 404, "NotFound"),
        ("invalid name", .POST, "/api/v1/namespaces/default/services", "application/json",
         "{\"metadata\":{\"name\":\"Not_Valid\"}}", 422, "Invalid"),
        ("server-side apply", .PATCH, "/api/v1/namespaces/default/services/x", "application/apply-patch+yaml", "{}", 415, "UnsupportedMediaType"),
        ("unknown patch type", .PATCH, "/api/v1/namespaces/default/services/x", "text/plain", "{}", 415, "UnsupportedMediaType"),
        ("merge patch not an object", .PATCH, "/api/v1/namespaces/default/services/x", "application/merge-patch+json", "[1]", 400, "BadRequest"),
        ("missing namespace", .POST, "/api/v1/namespaces/nope/services", "application/json", "{\"metadata\":{\"name\":\"x\"}}", 404, "NotFound"),
        ("bad label selector", .GET, "/api/v1/services?labelSelector=a%20in%20(", "application/json", "", 400, "BadRequest"),
        ("bad resourceVersion", .GET, "/api/v1/services?watch=1&resourceVersion=abc", "application/json", "", 400, "BadRequest"),
        ("method not allowed", .PUT, "/api/v1/services", "application/json", "{}", 405, "MethodNotAllowed"),
    ]

    enum HTTPMethodName: String, Sendable { case GET, POST, PATCH, PUT }

    /// Malformed requests get the right HTTP status and a Status object naming the problem; the server stays up.
    @Test("malformed requests get a Status, never a crash")
    func malformedRequests() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                try await client.create(.services, namespace: "default", service("x"))
                for m in Self.malformed {
                    do {
                        _ = try await client.send(.init(rawValue: m.method.rawValue), m.path, body: m.body.isEmpty ? nil : Array(m.body.utf8),
                                                  contentType: m.contentType)
                        Issue.record("\(m.name): expected \(m.code)")
                    } catch let error as KubernetesClientError {
                        #expect(error.code == m.code, "\(m.name): \(error)")
                        #expect(error.reason == m.reason, "\(m.name): \(error)")
                    }
                }
                // A body over the 3 MiB limit is refused with 413 before it is parsed.
                let huge = Array("{\"metadata\":{\"name\":\"x\",\"annotations\":{\"a\":\"".utf8) + [UInt8](repeating: 0x61, count: 4 << 20) + Array("\"}}}".utf8)
                do {
                    _ = try await client.send(.POST, "/api/v1/namespaces/default/services", body: huge)
                    Issue.record("a huge body must be refused")
                } catch let error as KubernetesClientError {
                    #expect(error.code == 413)
                }
                // A wrong token.
                var bad = emu.clientConfiguration(token: "wrong")
                bad.qps = 0
                try await emu.withClient(bad) { c in
                    do { _ = try await c.list(.services); Issue.record("a wrong token must be refused") } catch let error as KubernetesClientError { #expect(error.code == 401) }
                }
                // Still serving.
                #expect(try await client.list(.services).items.map(\.metadata.name) == ["x"])
            }
        }
    }
}

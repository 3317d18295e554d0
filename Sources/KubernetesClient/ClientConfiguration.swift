import Foundation
import Yams

/// Where the API server is and how to authenticate, from a kubeconfig or from the pod's service account.
public struct ClientConfiguration: Sendable {
    public enum Credentials: Sendable, Hashable {
        case none
        case token(String)
        /// A token file, re-read whenever it changes (projected service-account tokens rotate hourly).
        case tokenFile(String)
        case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
    }

    /// `https://host:port`, without a trailing slash.
    public var server: String
    /// PEM certificates to trust; nil means the system's roots.
    public var certificateAuthorityPEM: [UInt8]?
    public var insecureSkipTLSVerify = false
    public var credentials: Credentials = .none
    /// The namespace of the current context (or the service account's).
    public var namespace = "default"
    /// Client-side rate limit (client-go's defaults are 5 QPS, burst 10; daemons raise them).
    public var qps: Double = 50
    public var burst: Int = 100
    /// Deadline for a response head of a non-watch request.
    public var requestTimeout: Duration = .seconds(30)
    /// Time to establish a connection, TLS included (failed handshakes are retried until it passes).
    public var connectTimeout: Duration = .seconds(10)
    public var userAgent = "beacon"
    /// The largest answer read for a non-watch request; a larger one is an error (retried by informers with backoff),
    /// never a buffer as large as the server cares to send. Informers list in pages, so an answer is one page or
    /// one object (etcd keeps objects under 1.5 MiB).
    public var maxResponseBytes = 64 << 20
    /// The longest watch event (one line of the stream) read.
    public var maxWatchEventBytes = 16 << 20
    /// Take HTTP/2 when the server offers it: every request and watch a stream on one connection, as with client-go.
    /// Off for the daemons until the client checks an HTTP/2 connection's health: AsyncHTTPClient sends no PINGs and
    /// a timed-out request resets only its stream, so a connection that silently died would hold every watch and
    /// request until the kernel gives up on it (about 15 minutes); over HTTP/1.1 a dead connection holds only its own.
    public var http2 = false

    public init(server: String, certificateAuthorityPEM: [UInt8]? = nil, credentials: Credentials = .none) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.credentials = credentials
    }

    /// `--kubeconfig` if given, else `$KUBECONFIG` (first file), else in-cluster when running in a pod,
    /// else `~/.kube/config` — the order client-go's loading rules use.
    public static func resolve(kubeconfig: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(KubernetesClientError) -> ClientConfiguration {
        if let kubeconfig, !kubeconfig.isEmpty { return try load(kubeconfig: kubeconfig) }
        if let env = environment["KUBECONFIG"], let first = env.split(separator: ":").first {
            return try load(kubeconfig: String(first))
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return try load(kubeconfig: "\(home)/.kube/config")
    }

    /// In-cluster: `KUBERNETES_SERVICE_HOST`/`PORT`, the service account's CA, token (re-read as it rotates)
    /// and namespace under `root`.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 root: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(KubernetesClientError) -> ClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw .configuration("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let h = host.contains(":") ? "[\(host)]" : host
        guard let ca = FileManager.default.contents(atPath: "\(root)/ca.crt") else {
            throw .configuration("in-cluster: cannot read \(root)/ca.crt")
        }
        guard FileManager.default.isReadableFile(atPath: "\(root)/token") else {
            throw .configuration("in-cluster: cannot read \(root)/token")
        }
        var config = ClientConfiguration(server: "https://\(h):\(port)", certificateAuthorityPEM: Array(ca), credentials: .tokenFile("\(root)/token"))
        if let ns = FileManager.default.contents(atPath: "\(root)/namespace") {
            config.namespace = String(decoding: ns, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return config
    }

    /// Reads a kubeconfig's current context (or `context`). Relative file paths are relative to the kubeconfig.
    public static func load(kubeconfig path: String, context: String? = nil) throws(KubernetesClientError) -> ClientConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("kubeconfig \(path): cannot read the file")
        }
        let file: Kubeconfig
        // Yams' basic resolver: scalars stay text until a field reads them. The decoder's own resolver matched every
        // plain scalar against a regular expression, which ran ICU's regex engine (and kept its code resident) in
        // every process started with a kubeconfig.
        do {
            guard let node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self), .basic) else {
                throw KubernetesClientError.configuration("kubeconfig \(path): the file is empty")
            }
            file = try YAMLDecoder().decode(Kubeconfig.self, from: node)
        } catch let error as KubernetesClientError {
            throw error
        } catch {
            throw .configuration("kubeconfig \(path): \(error)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        func resolvePath(_ p: String) -> String { p.hasPrefix("/") || dir.isEmpty ? p : "\(dir)/\(p)" }
        func read(_ p: String, _ what: String) throws(KubernetesClientError) -> [UInt8] {
            guard let d = FileManager.default.contents(atPath: resolvePath(p)) else {
                throw .configuration("kubeconfig \(path): cannot read \(what) \(resolvePath(p))")
            }
            return Array(d)
        }
        func decode64(_ s: String, _ what: String) throws(KubernetesClientError) -> [UInt8] {
            guard let d = Data(base64Encoded: s.filter { !$0.isWhitespace }) else {
                throw .configuration("kubeconfig \(path): \(what) is not valid base64")
            }
            return Array(d)
        }
        guard let contextName = context ?? file.currentContext, !contextName.isEmpty else {
            throw .configuration("kubeconfig \(path): no current-context is set")
        }
        guard let ctx = file.contexts?.first(where: { $0.name == contextName })?.context else {
            throw .configuration("kubeconfig \(path): context \"\(contextName)\" not found")
        }
        guard let cluster = file.clusters?.first(where: { $0.name == ctx.cluster })?.cluster else {
            throw .configuration("kubeconfig \(path): cluster \"\(ctx.cluster)\" of context \"\(contextName)\" not found")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw .configuration("kubeconfig \(path): cluster \"\(ctx.cluster)\" has no server")
        }
        var config = ClientConfiguration(server: server)
        if let d = cluster.certificateAuthorityData { config.certificateAuthorityPEM = try decode64(d, "certificate-authority-data") }
        else if let f = cluster.certificateAuthority { config.certificateAuthorityPEM = try read(f, "certificate-authority") }
        config.insecureSkipTLSVerify = cluster.insecureSkipTLSVerify ?? false
        if let userName = ctx.user, let user = file.users?.first(where: { $0.name == userName })?.user {
            if let t = user.token, !t.isEmpty { config.credentials = .token(t) }
            else if let f = user.tokenFile { config.credentials = .tokenFile(resolvePath(f)) }
            else {
                var cert: [UInt8]?
                var key: [UInt8]?
                if let d = user.clientCertificateData { cert = try decode64(d, "client-certificate-data") }
                else if let f = user.clientCertificate { cert = try read(f, "client-certificate") }
                if let d = user.clientKeyData { key = try decode64(d, "client-key-data") }
                else if let f = user.clientKey { key = try read(f, "client-key") }
                if let cert, let key { config.credentials = .clientCertificate(certificatePEM: cert, keyPEM: key) }
                else if cert != nil || key != nil {
                    throw .configuration("kubeconfig \(path): user \"\(userName)\" needs both a client certificate and a key")
                }
            }
        }
        if let ns = ctx.namespace, !ns.isEmpty { config.namespace = ns }
        return config
    }
}

/// The parts of a kubeconfig file Beacon reads.
struct Kubeconfig: Decodable {
    struct NamedCluster: Decodable { var name: String; var cluster: Cluster }
    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }
    struct NamedUser: Decodable { var name: String; var user: User }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
        }
    }
    struct NamedContext: Decodable { var name: String; var context: Context }
    struct Context: Decodable { var cluster: String; var user: String?; var namespace: String? }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?
    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}

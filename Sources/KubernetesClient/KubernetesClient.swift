import AsyncHTTPClient
import Foundation
import KubernetesModel
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Beacon's Kubernetes client: typed verbs over HTTPS (AsyncHTTPClient), a client-side rate limit, bearer tokens
/// re-read as they rotate, and errors that carry the API server's `Status`.
///
/// `update` sends the whole object: use it for kinds Beacon owns (Leases, its status CRs) or with `JSONValue`;
/// for objects others own (Services) use `patch`, which cannot drop fields the models do not know.
public final class KubernetesClient: Sendable {
    public let configuration: ClientConfiguration
    let http: HTTPClient
    private let limiter: RateLimiter
    private let tokenCache = Mutex<(stamp: String, token: String)>(("", ""))

    public init(configuration: ClientConfiguration) throws(KubernetesClientError) {
        self.configuration = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = configuration.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if configuration.insecureSkipTLSVerify { tls.certificateVerification = .none }
            if case .clientCertificate(let cert, let key) = configuration.credentials {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw .configuration("TLS setup for \(configuration.server): \(error)")
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout.connect = .milliseconds(Int64(configuration.connectTimeout.components.seconds * 1000 + configuration.connectTimeout.components.attoseconds / 1_000_000_000_000_000))
        // HTTP/1.1 gets a pool: a connection per watch. HTTP/2 (`ClientConfiguration.http2`) puts them all on one.
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        config.httpVersion = configuration.http2 ? .automatic : .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        limiter = RateLimiter(qps: configuration.qps, burst: configuration.burst)
    }

    /// Closes connections; call once before the client goes away.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Shuts down, or calls `orElse` (an exiting daemon's `exit`) if that takes longer than `limit`: a watch's
    /// connection can hold the HTTP client's shutdown open, and a task group cannot abandon a child that waits.
    public func shutdown(within limit: Duration, orElse: @escaping @Sendable () -> Never) async {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.shutdown(); return true }
            group.addTask { try? await Task.sleep(for: limit); return false }
            if await group.next() == false { orElse() }
            group.cancelAll()
        }
    }

    // MARK: - Verbs

    public func get<T>(_ resource: Resource<T>, namespace: String? = nil, name: String) async throws(KubernetesClientError) -> T {
        try decode(try await send(.GET, resource.path(namespace: namespace, name: name)))
    }

    /// Lists every object (following `continue` pages when `options.limit` is set).
    public func list<T>(_ resource: Resource<T>, namespace: String? = nil, options: ListOptions = ListOptions())
        async throws(KubernetesClientError) -> ObjectList<T> {
        var query = Self.query(options)
        var result: ObjectList<T>?
        while true {
            let page: ObjectList<T> = try await decodeList(try await send(.GET, resource.path(namespace: namespace), query: query))
            if result == nil { result = page } else { result?.items.append(contentsOf: page.items) }
            guard let next = page.metadata.continue, !next.isEmpty else { break }
            query["continue"] = next
        }
        // Invariant: the loop runs at least once.
        return result ?? ObjectList(items: [])
    }

    @discardableResult
    public func create<T>(_ resource: Resource<T>, namespace: String? = nil, _ object: T) async throws(KubernetesClientError) -> T {
        try decode(try await send(.POST, resource.path(namespace: namespace), body: try encode(object)))
    }

    /// PUT of the whole object (or, with `subresource: "status"`, of its status). A stale resourceVersion is a
    /// Conflict (`isConflict`).
    @discardableResult
    public func update<T>(_ resource: Resource<T>, namespace: String? = nil, name: String, _ object: T,
                          subresource: String? = nil) async throws(KubernetesClientError) -> T {
        try decode(try await send(.PUT, resource.path(namespace: namespace, name: name, subresource: subresource), body: try encode(object)))
    }

    @discardableResult
    public func patch<T>(_ resource: Resource<T>, namespace: String? = nil, name: String, _ patch: Patch,
                         subresource: String? = nil) async throws(KubernetesClientError) -> T {
        try decode(try await send(.PATCH, resource.path(namespace: namespace, name: name, subresource: subresource),
                                  body: patch.body, contentType: patch.contentType))
    }

    /// A patch whose answer is not needed: the response body is not decoded (the controller's bulk writes).
    public func patchOnly<T>(_ resource: Resource<T>, namespace: String? = nil, name: String, _ patch: Patch,
                             subresource: String? = nil) async throws(KubernetesClientError) {
        _ = try await send(.PATCH, resource.path(namespace: namespace, name: name, subresource: subresource),
                           body: patch.body, contentType: patch.contentType)
    }

    /// A create whose answer is not needed (events).
    public func createOnly<T>(_ resource: Resource<T>, namespace: String? = nil, _ object: T) async throws(KubernetesClientError) {
        _ = try await send(.POST, resource.path(namespace: namespace), body: try encode(object))
    }

    public func delete<T>(_ resource: Resource<T>, namespace: String? = nil, name: String) async throws(KubernetesClientError) {
        _ = try await send(.DELETE, resource.path(namespace: namespace, name: name))
    }

    /// Optimistic concurrency: reads the object, lets `mutate` change it (returning false means "nothing to do"),
    /// and writes it back; a Conflict re-reads and tries again, up to `attempts` times.
    @discardableResult
    public func modify<T: APIObject>(_ resource: Resource<T>, namespace: String? = nil, name: String, subresource: String? = nil,
                                     attempts: Int = 5, _ mutate: (inout T) -> Bool) async throws(KubernetesClientError) -> T {
        var lastError: KubernetesClientError?
        for _ in 0..<max(attempts, 1) {
            var object = try await get(resource, namespace: namespace, name: name)
            guard mutate(&object) else { return object }
            do {
                return try await update(resource, namespace: namespace, name: name, object, subresource: subresource)
            } catch where error.isConflict {
                lastError = error
            }
        }
        throw lastError ?? .transport("modify \(resource) \(name): no attempt was made")
    }

    /// A watch from `resourceVersion` (nil: current objects as ADDED first). The server ends it after
    /// `timeoutSeconds`; a too-old resourceVersion fails with an error whose `isGone` is true.
    public func watch<T>(_ resource: Resource<T>, namespace: String? = nil, resourceVersion: String?,
                         options: ListOptions = ListOptions(), timeoutSeconds: Int = 300, bookmarks: Bool = true) -> WatchSequence<T> {
        var query = Self.query(options)
        query["limit"] = nil
        query["watch"] = "1"
        query["timeoutSeconds"] = String(timeoutSeconds)
        if let resourceVersion { query["resourceVersion"] = resourceVersion }
        if bookmarks { query["allowWatchBookmarks"] = "true" }
        return WatchSequence(client: self, path: resource.path(namespace: namespace), query: query,
                             deadline: .seconds(Int64(timeoutSeconds) + 60))
    }

    /// GET of any API path, undecoded (diagnostics and benchmarks).
    public func raw(_ path: String, query: [String: String] = [:]) async throws(KubernetesClientError) -> [UInt8] {
        try await send(.GET, path, query: query)
    }

    /// Any method on any path, with a JSON body (`kubectl create --raw`): for endpoints outside the typed verbs.
    public func raw(method: String, path: String, body: [UInt8]? = nil) async throws(KubernetesClientError) -> [UInt8] {
        try await send(HTTPMethod(rawValue: method), path, body: body)
    }

    // MARK: - Plumbing

    static func query(_ options: ListOptions) -> [String: String] {
        var q: [String: String] = [:]
        if let l = options.labelSelector, !l.isEmpty { q["labelSelector"] = l }
        if let f = options.fieldSelector, !f.isEmpty { q["fieldSelector"] = f }
        if let n = options.limit { q["limit"] = String(n) }
        return q
    }

    func makeRequest(_ method: HTTPMethod, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil,
                     contentType: String = "application/json") async throws(KubernetesClientError) -> HTTPClientRequest {
        do { try await limiter.acquire() } catch { throw .transport("cancelled") }
        var url = configuration.server + path
        if !query.isEmpty {
            url += "?" + query.keys.sorted().map { "\(Self.escape($0))=\(Self.escape(query[$0] ?? ""))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let token = try currentToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// Sends a request and returns the body of a 2xx answer; other answers become `.api(Status)`.
    func send(_ method: HTTPMethod, _ path: String, query: [String: String] = [:], body: [UInt8]? = nil,
              contentType: String = "application/json") async throws(KubernetesClientError) -> [UInt8] {
        let request = try await makeRequest(method, path, query: query, body: body, contentType: contentType)
        let timeout = configuration.requestTimeout.components
        do {
            let response = try await http.execute(request, timeout: .seconds(timeout.seconds))
            let limit = configuration.maxResponseBytes
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                throw KubernetesClientError.transport("\(method) \(path): the answer is \(length) bytes, more than the \(limit)-byte limit")
            }
            let bytes: ByteBuffer
            do { bytes = try await response.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
                throw KubernetesClientError.transport("\(method) \(path): the answer is more than the \(limit)-byte limit")
            }
            let data = Array(bytes.readableBytesView)
            guard (200..<300).contains(response.status.code) else {
                throw KubernetesClientError.api(Self.status(from: data, code: Int(response.status.code), reason: response.status.reasonPhrase))
            }
            return data
        } catch let error as KubernetesClientError {
            throw error
        } catch {
            throw .transport("\(method) \(path): \(error)")
        }
    }

    /// The answer's `Status`, or one made from the HTTP status when the body is not a Status.
    static func status(from body: [UInt8], code: Int, reason: String) -> Status {
        if let v = try? JSONText.parse(body), v["kind"]?.stringValue == "Status" {
            var s = Status(message: v["message"]?.stringValue ?? reason, reason: v["reason"]?.stringValue ?? "", code: code)
            if case .int(let c)? = v["code"] { s.code = Int(c) }
            if let d = v["details"], let data = try? JSONEncoder().encode(d) {
                s.details = try? JSONDecoder().decode(StatusDetails.self, from: data)
            }
            return s
        }
        let text = String(decoding: body.prefix(512), as: UTF8.self)
        return Status(message: text.isEmpty ? reason : text, reason: reason.replacing(" ", with: ""), code: code)
    }

    /// The bearer token; a token file is re-read whenever it changes (rotation).
    func currentToken() throws(KubernetesClientError) -> String? {
        switch configuration.credentials {
        case .token(let t): return t
        case .tokenFile(let path):
            var st = stat()
            guard stat(path, &st) == 0 else { throw .configuration("token file \(path): cannot read it") }
            let stamp = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec).\(st.st_size).\(st.st_ino)"
            return try tokenCache.withLock { (c: inout (stamp: String, token: String)) throws(KubernetesClientError) -> String in
                if c.stamp != stamp {
                    guard let data = FileManager.default.contents(atPath: path) else { throw .configuration("token file \(path): cannot read it") }
                    c.token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    c.stamp = stamp
                }
                return c.token
            }
        case .none, .clientCertificate: return nil
        }
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if unreserved.contains(b) { out.unicodeScalars.append(Unicode.Scalar(b)) }
            else { out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) }
        }
        return out
    }

    /// A list's items are parsed and decoded in parallel, one chunk per core (a 10k-Service list is ~7.5 MB).
    func decodeList<T: Decodable & Sendable>(_ bytes: [UInt8]) async throws(KubernetesClientError) -> ObjectList<T> {
        let members: [String: JSONValue]
        let ranges: [Range<Int>]
        do { (members, ranges) = try JSONText.splitList(bytes) } catch { throw .decoding("\(T.self) list: \(error)") }
        var list = ObjectList<T>(apiVersion: members["apiVersion"]?.stringValue, kind: members["kind"]?.stringValue,
                                 metadata: ListMeta(resourceVersion: members["metadata"]?["resourceVersion"]?.stringValue), items: [])
        list.metadata.continue = members["metadata"]?["continue"]?.stringValue
        let workers = ranges.count < 512 ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = (ranges.count + workers - 1) / max(workers, 1)
        do {
            list.items = try await withThrowingTaskGroup(of: (Int, [T]).self) { group in
                for w in 0..<workers {
                    let part = Array(ranges[min(w * chunk, ranges.count)..<min((w + 1) * chunk, ranges.count)])
                    group.addTask {
                        let decoder = JSONValueDecoder()
                        return (w, try part.map { r in try decoder.decode(T.self, from: try JSONText.parse(bytes[r])) })
                    }
                }
                var parts = [[T]](repeating: [], count: workers)
                for try await (w, items) in group { parts[w] = items }
                return parts.flatMap { $0 }
            }
        } catch {
            throw .decoding("\(T.self) list item: \(error)")
        }
        return list
    }

    func decode<T: Decodable>(_ bytes: [UInt8]) throws(KubernetesClientError) -> T {
        do { return try Self.decoder(bytes) } catch {
            throw .decoding("\(T.self): \(error)")
        }
    }

    static func decoder<T: Decodable>(_ bytes: [UInt8]) throws -> T {
        try JSONValueDecoder().decode(T.self, from: try JSONText.parse(bytes))
    }

    func encode<T: Encodable>(_ object: T) throws(KubernetesClientError) -> [UInt8] {
        if let v = object as? JSONValue { return JSONText.serialize(v) }
        do { return Array(try JSONEncoder().encode(object)) } catch {
            throw .decoding("cannot encode \(T.self): \(error)")
        }
    }
}

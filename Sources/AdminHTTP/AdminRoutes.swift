import NIOHTTP1

/// The paths an admin listener serves, and the decision for one request head: answer at once (405, 404) or call a
/// handler. Pure, so the fuzzer drives it without sockets.
public struct AdminRoutes: Sendable {
    /// What a request gets.
    public enum Dispatch: Sendable {
        case respond(AdminServer.Response)
        case call(AdminServer.Handler, AdminServer.Request)
    }

    public private(set) var handlers: [String: AdminServer.Handler]

    public init(_ handlers: [String: AdminServer.Handler] = [:]) { self.handlers = handlers }

    public subscript(path: String) -> AdminServer.Handler? {
        get { handlers[path] }
        set { handlers[path] = newValue }
    }

    public func dispatch(_ head: HTTPRequestHead) -> Dispatch {
        guard head.method == .GET || head.method == .HEAD else { return .respond(.text("method not allowed\n", status: 405)) }
        let (path, query) = Self.split(head.uri)
        guard let handler = handlers[path] else {
            // The path is echoed only as far as a line of a log: a request target can be 16 KB of anything.
            let shown = path.utf8.count > 128 ? String(decoding: path.utf8.prefix(128), as: UTF8.self) + "…" : path
            return .respond(.text("not found: \(shown)\nroutes: \(handlers.keys.sorted().joined(separator: " "))\n", status: 404))
        }
        return .call(handler, AdminServer.Request(path: path, query: query))
    }

    /// The response head for `response` to `request`.
    public static func head(_ response: AdminServer.Response, to request: HTTPRequestHead) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: request.version, status: .init(statusCode: response.status), headers: headers)
    }

    /// Splits a request target into path and query. Any bytes are accepted: `?=`, `?&&`, `?=x` and a bare `?` give
    /// empty names or values, never a trap (a request is outside input).
    static func split(_ uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            // Not omitting empty pieces: "=" splits into "" and "", so there is always a name.
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = kv.first else { continue }
            query[String(name)] = kv.count > 1 ? String(kv[1]).removingPercentEncodingLite : ""
        }
        return (String(uri[..<q]), query)
    }
}

extension String {
    /// `%XX` and `+` decoding for query values (Foundation-free).
    var removingPercentEncodingLite: String {
        var out: [UInt8] = []
        var bytes = Array(utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "+") { out.append(0x20); continue }
            if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
                continue
            }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import KubernetesModel
import Synchronization

/// Test hook, not part of the Kubernetes API: `POST /emulator/faults` with
/// `{"method": "PATCH", "path": "/api/v1/namespaces/default/services/web/status", "code": 500, "count": 3}` makes
/// the next `count` matching requests (all of them when `count` is absent or negative) fail with that code and a
/// Status object; `DELETE /emulator/faults` removes every fault. `path` matches the request path exactly, or as a
/// prefix when it ends in `*`. This is how tests make the API server fail a write the way a webhook or an
/// overloaded server would. With `"answer": "garbage"`, `"truncated"` or `"huge"` (and `"size"`) instead of a code,
/// matching requests get a 200 whose body is not JSON, a JSON list cut off mid-object, or valid JSON of `size` bytes:
/// how tests feed a client hostile answers.
public final class FaultInjector: Sendable {
    struct Fault {
        var method: String
        var path: String
        var code: Int
        var remaining: Int
        /// Instead of an error status: a 200 whose body is broken in this way.
        var answer: Answer?
    }

    /// Broken successful answers, for testing what a client does with them.
    enum Answer: Sendable {
        /// Bytes that are not JSON.
        case garbage
        /// A JSON list cut off in the middle of an object.
        case truncated
        /// Valid JSON of this many bytes (a list with a padding field).
        case huge(Int)

        var body: [UInt8] {
            switch self {
            case .garbage: return [0xff, 0x00] + Array("not JSON at all {{{".utf8)
            case .truncated: return Array(#"{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a","#.utf8)
            case .huge(let size):
                let head = Array(#"{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[],"pad":""#.utf8)
                let tail = Array(#""}"#.utf8)
                return head + [UInt8](repeating: UInt8(ascii: "x"), count: max(0, size - head.count - tail.count)) + tail
            }
        }
    }

    private let faults = Mutex<[Fault]>([])

    public init() {}

    /// Handles `/emulator/faults`; nil for any other path.
    func control(_ request: APIRequest, path: String) -> APIResponse? {
        guard path == "/emulator/faults" else { return nil }
        switch request.method {
        case "DELETE":
            faults.withLock { $0.removeAll() }
            return .json(200, ["faults": 0])
        case "POST":
            guard let body = try? JSONText.parse(request.body), let method = body["method"]?.stringValue, let p = body["path"]?.stringValue
            else {
                return .status(Status(message: "fault needs method, path and code (400-599) or answer", reason: "BadRequest", code: 400))
            }
            var answer: Answer?
            switch body["answer"]?.stringValue {
            case nil: break
            case "garbage": answer = .garbage
            case "truncated": answer = .truncated
            case "huge":
                guard case .int(let size)? = body["size"], size > 0, size <= 1 << 30 else {
                    return .status(Status(message: "a huge answer needs size (1 to 2^30 bytes)", reason: "BadRequest", code: 400))
                }
                answer = .huge(Int(size))
            case let other?:
                return .status(Status(message: "answer must be garbage, truncated or huge, not \(other)", reason: "BadRequest", code: 400))
            }
            var code: Int64 = 200
            if case .int(let c)? = body["code"] { code = c }
            guard answer != nil || (400...599).contains(code) else {
                return .status(Status(message: "fault needs method, path and code (400-599) or answer", reason: "BadRequest", code: 400))
            }
            var count = -1
            if case .int(let c)? = body["count"] { count = Int(c) }
            let fault = Fault(method: method.uppercased(), path: p, code: Int(code), remaining: count, answer: answer)
            let n = faults.withLock { $0.append(fault); return $0.count }
            return .json(201, ["faults": .int(Int64(n))])
        default:
            return .status(Status(message: "use POST or DELETE", reason: "MethodNotAllowed", code: 405))
        }
    }

    /// The injected failure for this request, if one matches (consuming one of its count).
    func failure(method: String, path: String) -> APIResponse? {
        faults.withLock { faults in
            guard let i = faults.firstIndex(where: { f in
                f.method == method && (f.path.hasSuffix("*") ? path.hasPrefix(f.path.dropLast()) : path == f.path)
            }) else { return nil }
            let code = faults[i].code
            let answer = faults[i].answer
            if faults[i].remaining > 0 {
                faults[i].remaining -= 1
                if faults[i].remaining == 0 { faults.remove(at: i) }
            }
            if let answer { return .complete(status: 200, contentType: "application/json", body: answer.body) }
            return .status(Status(message: "injected fault: \(method) \(path) fails with \(code)", reason: code >= 500 ? "InternalError" : "Invalid",
                                  code: code))
        }
    }
}

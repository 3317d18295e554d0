import KubernetesModel
import Synchronization

/// Test hook, not part of the Kubernetes API: `POST /emulator/faults` with
/// `{"method": "PATCH", "path": "/api/v1/namespaces/default/services/web/status", "code": 500, "count": 3}` makes
/// the next `count` matching requests (all of them when `count` is absent or negative) fail with that code and a
/// Status object; `DELETE /emulator/faults` removes every fault. `path` matches the request path exactly, or as a
/// prefix when it ends in `*`. This is how tests make the API server fail a write the way a webhook or an
/// overloaded server would.
public final class FaultInjector: Sendable {
    struct Fault {
        var method: String
        var path: String
        var code: Int
        var remaining: Int
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
            guard let body = try? JSONText.parse(request.body), let method = body["method"]?.stringValue,
                  let p = body["path"]?.stringValue, case .int(let code)? = body["code"], (400...599).contains(code)
            else {
                return .status(Status(message: "fault needs method, path and code (400-599)", reason: "BadRequest", code: 400))
            }
            var count = -1
            if case .int(let c)? = body["count"] { count = Int(c) }
            let n = faults.withLock { $0.append(Fault(method: method.uppercased(), path: p, code: Int(code), remaining: count)); return $0.count }
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
            if faults[i].remaining > 0 {
                faults[i].remaining -= 1
                if faults[i].remaining == 0 { faults.remove(at: i) }
            }
            return .status(Status(message: "injected fault: \(method) \(path) fails with \(code)", reason: code >= 500 ? "InternalError" : "Invalid",
                                  code: code))
        }
    }
}

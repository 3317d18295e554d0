import KubernetesModel

/// Everything a Kubernetes call can fail with. API errors keep the server's `Status` (reason and message), so
/// callers branch on `reason` (`NotFound`, `Conflict`, `Expired`, …) and logs show what the server said.
public enum KubernetesClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server answered with an error Status.
    case api(Status)
    /// The request did not get an answer (connection refused, TLS failure, deadline).
    case transport(String)
    /// The answer could not be decoded as the expected type.
    case decoding(String)
    /// The kubeconfig or in-cluster setup is unusable.
    case configuration(String)

    public var description: String {
        switch self {
        case .api(let s): return "\(s.reason ?? "Unknown") (\(s.code.map(String.init) ?? "?")): \(s.message ?? "")"
        case .transport(let m): return "cannot reach the API server: \(m)"
        case .decoding(let m): return "unexpected answer from the API server: \(m)"
        case .configuration(let m): return m
        }
    }

    /// The Status reason of an API error (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, `Gone`, …).
    public var reason: String? {
        if case .api(let s) = self { return s.reason }
        return nil
    }

    public var code: Int? {
        if case .api(let s) = self { return s.code }
        return nil
    }

    public var isNotFound: Bool { code == 404 }
    public var isConflict: Bool { code == 409 && reason == "Conflict" }
    public var isAlreadyExists: Bool { code == 409 && reason == "AlreadyExists" }
    /// The watch's resourceVersion is too old (410 Gone / reason Expired): relist.
    public var isGone: Bool { code == 410 || reason == "Expired" || reason == "Gone" }
}

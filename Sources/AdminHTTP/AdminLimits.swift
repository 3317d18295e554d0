/// What one client may cost an admin listener. The admin port listens on every node address (the speaker runs with
/// the host network), so anyone who can reach a node can send to it: each bound here turns an attack into a closed
/// connection instead of memory, threads or a stalled event loop.
public struct AdminLimits: Sendable, Hashable {
    /// Request line and headers together (NIO's decoder refuses more with 400).
    public var maxHeadBytes = 16 * 1024
    /// Header fields in one request.
    public var maxHeaderFields = 64
    /// GET and HEAD carry no body; a client that sends one is cut off past this many bytes (413).
    public var maxBodyBytes = 4 * 1024
    /// Open connections in all.
    public var maxConnections = 128
    /// Open connections from one remote address, so that one host cannot take every slot from the kubelet's
    /// probes and Prometheus.
    public var maxConnectionsPerSource = 16
    /// Each request must arrive whole within this time of the connection opening or of the previous response:
    /// a slow sender (slowloris) or an idle keep-alive connection is closed.
    public var requestTimeout: Duration = .seconds(10)

    public init() {}
}

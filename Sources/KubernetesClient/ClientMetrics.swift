import CoreMetrics

/// The metrics both daemons keep about their API writes and configuration, with MetalLB's names:
/// `metallb_k8s_client_updates_total`, `metallb_k8s_client_update_errors_total`,
/// `metallb_k8s_client_config_loaded_bool`, `metallb_k8s_client_config_stale_bool`.
public struct ClientMetrics: Sendable {
    public let updates: Counter
    public let updateErrors: Counter
    public let configLoaded: Gauge
    public let configStale: Gauge

    public init(factory: any MetricsFactory) {
        updates = Counter(label: "metallb_k8s_client_updates_total", factory: factory)
        updateErrors = Counter(label: "metallb_k8s_client_update_errors_total", factory: factory)
        configLoaded = Gauge(label: "metallb_k8s_client_config_loaded_bool", factory: factory)
        configStale = Gauge(label: "metallb_k8s_client_config_stale_bool", factory: factory)
        configLoaded.record(0)
        configStale.record(0)
    }
}

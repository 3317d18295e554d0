import CoreMetrics

/// Per-peer BGP metrics with MetalLB's names and `peer="ADDR:PORT"` label: `metallb_bgp_session_up`,
/// `metallb_bgp_updates_total`, `metallb_bgp_announced_prefixes_total`, `metallb_bgp_pending_prefixes_total`, and the
/// FRR-mode message counters (`metallb_bgp_opens_sent`, `_opens_received`, `_notifications_sent`,
/// `_notifications_received`, `_keepalives_sent`, `_keepalives_received`, `_updates_total_received`); plus
/// `beacon_bgp_updates_treated_as_withdraw_total` (RFC 7606 attribute errors that did not reset the session).
public struct BGPMetrics: Sendable {
    let sessionUp: Gauge
    let updatesSent: Counter
    let announced: Gauge
    let pending: Gauge
    let opensSent: Counter, opensReceived: Counter
    let notificationsSent: Counter, notificationsReceived: Counter
    let keepalivesSent: Counter, keepalivesReceived: Counter
    let updatesReceived: Counter
    let updatesTreatedAsWithdraw: Counter

    public init(peer: String, factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        let d = [("peer", peer)]
        func c(_ n: String) -> Counter { Counter(label: "metallb_bgp_\(n)", dimensions: d, factory: factory) }
        func g(_ n: String) -> Gauge { Gauge(label: "metallb_bgp_\(n)", dimensions: d, factory: factory) }
        sessionUp = g("session_up")
        updatesSent = c("updates_total")
        announced = g("announced_prefixes_total")
        pending = g("pending_prefixes_total")
        opensSent = c("opens_sent"); opensReceived = c("opens_received")
        notificationsSent = c("notifications_sent"); notificationsReceived = c("notifications_received")
        keepalivesSent = c("keepalives_sent"); keepalivesReceived = c("keepalives_received")
        updatesReceived = c("updates_total_received")
        updatesTreatedAsWithdraw = Counter(label: "beacon_bgp_updates_treated_as_withdraw_total", dimensions: d, factory: factory)
        sessionUp.record(0)
    }
}

import NetworkPrimitives

/// Turns the frames of other stations claiming announced addresses into reports a person can act on: one when a
/// conflict starts, then at most one summary per address per `summaryInterval` while it lasts, with how many frames
/// and stations were seen. Keyed by address only, with a few sample MACs, so a station inventing 100,000 MACs costs
/// a counter, not a table entry, a log line and an API event each.
///
/// Pure: the caller passes the time; `SpeakerRuntime` keeps one behind a lock and logs and posts what it returns.
struct ConflictTracker: Sendable {
    /// What to say about one address.
    struct Report: Hashable, Sendable {
        var ip: IPAddress
        var interface: String
        /// Frames seen since the previous report of this episode (1 for the first).
        var frames: Int
        /// Distinct stations among the samples kept (at most `sampleLimit`), and whether more were seen.
        var stations: [MACAddress]
        var moreStations: Bool
        /// False for the first report of an episode, true for a summary of one that goes on.
        var continuing: Bool

        var description: String {
            let who = stations.map(\.description).joined(separator: ", ") + (moreStations ? " and others" : "")
            return continuing
                ? "\(frames) frames from \(who) on \(interface) claimed \(ip) since the last report"
                : "\(who) on \(interface) also answers for \(ip)"
        }
    }

    private struct Episode {
        var interface: String
        var started: Duration
        var lastFrame: Duration
        var lastReport: Duration
        var framesSinceReport: Int
        var samples: [MACAddress]
        var moreStations: Bool
    }

    /// A continuing conflict is summarised at most this often per address.
    var summaryInterval: Duration = .seconds(60)
    /// An address without a conflicting frame for this long starts a new episode next time.
    var quietInterval: Duration = .seconds(60)
    /// Sample MACs kept per address.
    var sampleLimit = 4
    /// Addresses tracked at once; beyond it the quietest episode is forgotten. Frames are only classified as
    /// conflicts for addresses this node announces, so this is a backstop.
    var addressLimit = 4096

    private var episodes: [IPAddress: Episode] = [:]

    var trackedAddresses: Int { episodes.count }

    /// A frame from `mac` claimed `ip`; returns what to report now, if anything.
    mutating func seen(ip: IPAddress, mac: MACAddress, interface: String, now: Duration) -> Report? {
        if var e = episodes[ip], now - e.lastFrame < quietInterval {
            e.lastFrame = now
            e.framesSinceReport += 1
            if !e.samples.contains(mac) {
                if e.samples.count < sampleLimit { e.samples.append(mac) } else { e.moreStations = true }
            }
            var report: Report?
            if now - e.lastReport >= summaryInterval {
                report = Report(ip: ip, interface: e.interface, frames: e.framesSinceReport, stations: e.samples,
                                moreStations: e.moreStations, continuing: true)
                e.lastReport = now
                e.framesSinceReport = 0
            }
            episodes[ip] = e
            return report
        }
        if episodes[ip] == nil, episodes.count >= addressLimit { forgetQuietest() }
        episodes[ip] = Episode(interface: interface, started: now, lastFrame: now, lastReport: now, framesSinceReport: 0,
                               samples: [mac], moreStations: false)
        return Report(ip: ip, interface: interface, frames: 1, stations: [mac], moreStations: false, continuing: false)
    }

    /// Addresses no longer announced: their episodes end.
    mutating func withdraw(_ ips: some Sequence<IPAddress>) {
        for ip in ips { episodes[ip] = nil }
    }

    /// Ends episodes that have been quiet for `quietInterval` (called now and then; `seen` also restarts them).
    mutating func expire(now: Duration) {
        episodes = episodes.filter { now - $0.value.lastFrame < quietInterval }
    }

    private mutating func forgetQuietest() {
        guard let quietest = episodes.min(by: { $0.value.lastFrame < $1.value.lastFrame })?.key else { return }
        episodes[quietest] = nil
    }
}

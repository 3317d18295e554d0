import NetworkPrimitives

/// Turns the frames of other stations claiming announced addresses into reports a person can act on: one once a
/// conflict has lasted `confirmAfter`, then at most one summary per address per `summaryInterval` while it lasts,
/// with how many frames and stations were seen. A conflict shorter than `confirmAfter` is a handover (a planned
/// restart, a rejoin, a takeover: both nodes answer until the next heartbeat) and is only counted; a split brain or
/// a host configured with the address keeps answering and is reported. Keyed by address only, with a few sample MACs, so a station inventing 100,000 MACs costs
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
                : "\(who) on \(interface) also answers for \(ip) (\(frames) frames)"
        }
    }

    private struct Episode {
        var interface: String
        var started: Duration
        var lastFrame: Duration
        var lastReport: Duration
        var reported = false
        var framesSinceReport: Int
        var samples: [MACAddress]
        var moreStations: Bool
    }

    /// A conflict is reported once it has lasted this long (a frame at least this long after its first): longer than
    /// a handover, whose frames (the takeover's gratuitous burst, 2 s by default, and each side's one defence) all
    /// come within it. A split brain keeps going: each side defends again every 10 s (RFC 5227), so it is reported
    /// at the second defence at the latest.
    var confirmAfter: Duration = .seconds(3)
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

    /// What to do about a frame: report now, or (a conflict just began) ask who has the address once
    /// `confirmAfter` has passed, so that a conflict that lasts is confirmed even if the other station sends
    /// nothing more by itself (in a split, each side defends once and then answers only its own clients).
    struct Outcome: Equatable {
        var report: Report?
        var probe = false
    }

    /// A frame from `mac` claimed `ip`.
    mutating func observe(ip: IPAddress, mac: MACAddress, interface: String, now: Duration) -> Outcome {
        let isNew = episodes[ip].map { !continues($0, now: now) } ?? true
        let report = seen(ip: ip, mac: mac, interface: interface, now: now)
        return Outcome(report: report, probe: isNew && confirmAfter > .zero)
    }

    /// A frame from `mac` claimed `ip`; returns what to report now, if anything.
    mutating func seen(ip: IPAddress, mac: MACAddress, interface: String, now: Duration) -> Report? {
        if var e = episodes[ip], continues(e, now: now) {
            e.lastFrame = now
            e.framesSinceReport += 1
            if !e.samples.contains(mac) {
                if e.samples.count < sampleLimit { e.samples.append(mac) } else { e.moreStations = true }
            }
            var report: Report?
            if !e.reported ? now - e.started >= confirmAfter : now - e.lastReport >= summaryInterval {
                report = Report(ip: ip, interface: e.interface, frames: e.framesSinceReport, stations: e.samples,
                                moreStations: e.moreStations, continuing: e.reported)
                e.reported = true
                e.lastReport = now
                e.framesSinceReport = 0
            }
            episodes[ip] = e
            return report
        }
        if episodes[ip] == nil, episodes.count >= addressLimit { forgetQuietest() }
        let confirmed = confirmAfter <= .zero
        episodes[ip] = Episode(interface: interface, started: now, lastFrame: now, lastReport: now, reported: confirmed,
                               framesSinceReport: confirmed ? 0 : 1, samples: [mac], moreStations: false)
        return confirmed ? Report(ip: ip, interface: interface, frames: 1, stations: [mac], moreStations: false, continuing: false) : nil
    }

    /// Addresses whose conflict was reported and that saw a conflicting frame within `within` of `now`: the ones
    /// whose neighbours may still point at the other station (for a gratuitous burst once the split heals).
    func recentlyConflicted(now: Duration, within: Duration) -> [IPAddress] {
        episodes.filter { now - $0.value.lastFrame < within }.keys.sorted()
    }

    /// Whether a frame at `now` belongs to episode `e`. An unconfirmed one ends sooner, after `confirmAfter` and a
    /// second of silence (room for the probe's answer): two handovers a few seconds apart are two handovers, not
    /// one conflict that lasted.
    private func continues(_ e: Episode, now: Duration) -> Bool {
        now - e.lastFrame < (e.reported ? quietInterval : confirmAfter + .seconds(1))
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

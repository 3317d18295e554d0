/// Which speakers are alive, decided from heartbeats on a clock the caller supplies: no I/O, no timers of its own.
///
/// Every member sends a heartbeat every `interval`. While the cluster has at most `fullMeshLimit` members it sends
/// to everyone and watches everyone. Beyond that it works on a ring sorted by name: it watches its `ringNeighbours`
/// successors and predecessors (they hear each other directly), and also sends to members at distances ±4, ±8,
/// ±16, … so that news crosses the ring in O(log N) hops. Per-node traffic is then 2 × (ringNeighbours + log2 N)
/// heartbeats per interval instead of N.
///
/// Heartbeats carry reports: every member the sender holds dead, and the members that came back in the last
/// `rumourLifetime` (with their incarnation and sequence), so deaths and restarts reach everyone within a few
/// intervals. A watched member is dead after `timeout` of silence; any member is dead when it leaves, or when a
/// report says its current incarnation died and this node has not heard it itself meanwhile. An authenticated
/// heartbeat, direct or reported with a newer sequence, brings a member back. Replays (an older incarnation, or a
/// sequence already seen) change nothing.
public struct FailureDetector: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var interval: Duration = .milliseconds(100)
        /// Silence after which a watched member is dead: with 100 ms heartbeats, a death is seen in 0.4–0.5 s.
        public var timeout: Duration = .milliseconds(400)
        public var fullMeshLimit = 32
        public var ringNeighbours = 3
        /// How long a member that came back is mentioned in heartbeats.
        public var rumourLifetime: Duration = .seconds(2)
        public init() {}
    }

    public enum Change: Hashable, Sendable {
        case up(String)
        case down(String, reason: String)
    }

    struct Member {
        var incarnation: UInt64 = 0
        var sequence: UInt64 = 0
        /// Last time anything proved it alive (directly or by report).
        var lastHeard: Duration
        /// Last time its own heartbeat arrived here.
        var lastDirect: Duration?
        var alive = true
        /// When it last came back (for the alive rumour).
        var cameBack: Duration?
    }

    public let name: String
    public let configuration: Configuration
    /// This member's generation. It starts where the caller says and only rises: past any incarnation another member
    /// reports for this one (SWIM's refutation), so a restart is accepted whatever the clock, and a report of this
    /// member's death is answered by a newer generation that revives it everywhere.
    public private(set) var incarnation: UInt64
    private var sequence: UInt64 = 0
    /// Members whose latest heartbeat carried an older incarnation than the one held, and when: a restart with a
    /// lower generation or a replay, which cannot be told apart. Nothing changes here; heartbeats tell such a member
    /// the incarnation held (an alive report at sequence 0, which no one who knows that incarnation acts on) so that,
    /// if it restarted, it moves above it.
    private var behind: [String: Duration] = [:]
    private var members: [String: Member] = [:]
    /// Targets and watched members, recomputed only when the member list changes (ticks are frequent).
    private var cachedTargets: [String] = []
    private var cachedWatched: [String] = []

    /// `incarnation` is where this member's generation starts (1 on every start is fine: the others tell it where
    /// to go on).
    public init(name: String, incarnation: UInt64, configuration: Configuration = Configuration()) {
        self.name = name
        self.incarnation = incarnation
        self.configuration = configuration
    }

    /// The members that are alive, this one included.
    public var alive: Set<String> { Set(members.filter { $0.value.alive }.keys).union([name]) }

    /// When `member`'s own datagram last arrived here (nil before the first, or for a stranger).
    public func lastDirect(of member: String) -> Duration? { members[member]?.lastDirect }

    /// The expected members (from the speaker pods or Nodes). New ones start alive, with one timeout of grace;
    /// removed ones are forgotten.
    public mutating func setMembers(_ names: Set<String>, now: Duration) -> [Change] {
        var changes: [Change] = []
        for n in names.sorted() where n != name && members[n] == nil {
            members[n] = Member(lastHeard: now)
            changes.append(.up(n))
        }
        for n in Array(members.keys) where !names.contains(n) { members[n] = nil }
        cachedTargets = ringTargets(exponential: true)
        cachedWatched = ringTargets(exponential: false)
        return changes
    }

    var ringMode: Bool { members.count + 1 > configuration.fullMeshLimit }

    /// Who this node watches for silence: everyone, or its ring neighbours.
    public func watched() -> [String] { cachedWatched }

    /// Who this node sends heartbeats to: the watched members, plus (on the ring) members at exponential distances.
    public func targets() -> [String] { cachedTargets }

    private func ringTargets(exponential: Bool) -> [String] {
        let others = members.keys.sorted()
        guard ringMode else { return others }
        let ring = (others + [name]).sorted()
        guard let me = ring.firstIndex(of: name) else { return [] }
        var distances = Array(1...configuration.ringNeighbours)
        if exponential {
            var d = 4
            while d < ring.count / 2 + 1 { distances.append(d); d *= 2 }
        }
        var out = Set<String>()
        for d in distances {
            out.insert(ring[(me + d) % ring.count])
            out.insert(ring[((me - d) % ring.count + ring.count) % ring.count])
        }
        out.remove(name)
        return out.sorted()
    }

    /// The heartbeat to send now, its targets, and deaths noticed since the last tick.
    public mutating func tick(now: Duration) -> (heartbeat: MembershipMessage, targets: [String], changes: [Change]) {
        var changes: [Change] = []
        for n in cachedWatched {
            guard let m = members[n], m.alive, now - m.lastHeard >= configuration.timeout else { continue }
            members[n]?.alive = false
            let (seconds, attoseconds) = (now - m.lastHeard).components
            changes.append(.down(n, reason: "no heartbeat for \(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"))
        }
        sequence += 1
        if !behind.isEmpty { behind = behind.filter { members[$0.key] != nil && now - $0.value < configuration.rumourLifetime } }
        // First, so that the datagram's size limit never cuts them.
        var hints = behind.keys.sorted().compactMap { n in
            members[n].map { MembershipMessage.Report(name: n, alive: true, incarnation: $0.incarnation, sequence: 0) }
        }
        var reports = members.filter { !$0.value.alive }.map { MembershipMessage.Report(name: $0.key, alive: false, incarnation: $0.value.incarnation) }
            .sorted { $0.name < $1.name }
        for (n, m) in members where m.alive {
            guard let back = m.cameBack, now - back < configuration.rumourLifetime else { continue }
            reports.append(.init(name: n, alive: true, incarnation: m.incarnation, sequence: m.sequence))
        }
        hints += reports
        return (MembershipMessage(kind: .heartbeat, sender: name, incarnation: incarnation, sequence: sequence, reports: hints), cachedTargets, changes)
    }

    /// The leave message for a clean stop, to every member.
    public mutating func leave() -> (message: MembershipMessage, targets: [String]) {
        sequence += 1
        return (MembershipMessage(kind: .leave, sender: name, incarnation: incarnation, sequence: sequence), members.keys.sorted())
    }

    /// A datagram whose HMAC was verified arrived.
    public mutating func received(_ m: MembershipMessage, now: Duration) -> [Change] {
        guard m.sender != name, var member = members[m.sender] else { return [] }  // strangers are ignored
        // An older generation than the one held: a replay, or a restart whose generation started lower. Change
        // nothing; tell it what is held (`behind`).
        if m.incarnation < member.incarnation {
            behind[m.sender] = now
            return []
        }
        // Replay protection.
        if (m.incarnation, m.sequence) <= (member.incarnation, member.sequence) { return [] }
        behind[m.sender] = nil
        var changes: [Change] = []
        member.incarnation = m.incarnation
        member.sequence = m.sequence
        member.lastHeard = now
        member.lastDirect = now
        switch m.kind {
        case .leave:
            if member.alive { changes.append(.down(m.sender, reason: "left")) }
            member.alive = false
        case .heartbeat:
            if !member.alive {
                member.alive = true
                member.cameBack = now
                changes.append(.up(m.sender))
            }
        }
        members[m.sender] = member
        // UInt64.max cannot be refuted (nor reached by restarts): only a forgery says it, and + 1 would trap.
        for r in m.reports where r.name == name && r.incarnation >= incarnation && r.incarnation < .max {
            // Someone holds this member at this generation or later (a restart that started lower), or reports its
            // death: refute with a newer one.
            incarnation = r.incarnation + 1
            sequence = 0
        }
        for r in m.reports where r.name != name {
            guard var other = members[r.name] else { continue }
            if r.alive {
                guard (r.incarnation, r.sequence) > (other.incarnation, other.sequence) else { continue }
                other.incarnation = r.incarnation
                other.sequence = r.sequence
                other.lastHeard = now
                if !other.alive {
                    other.alive = true
                    other.cameBack = now
                    changes.append(.up(r.name))
                }
            } else {
                // A death report counts for the incarnation we know, unless we heard that member ourselves just now.
                guard other.alive, r.incarnation >= other.incarnation else { continue }
                if let direct = other.lastDirect, now - direct < configuration.interval * 2 { continue }
                other.alive = false
                changes.append(.down(r.name, reason: "reported dead by \(m.sender)"))
            }
            members[r.name] = other
        }
        return changes
    }
}

import AnnouncementPolicy
import KubernetesModel
import LoadBalancerConfig
import Netlink
import NetworkPrimitives
import PacketSocket

/// The speaker's decisions for one pass, without I/O: from the cluster's state, this node's interfaces and the live
/// members to what the network should carry and what the cluster should be told.
///
/// A pass has two halves around the network work. `network` decides the layer 2 set and the routes per peer, which
/// the runtime hands to the announcer and the BGP sessions first (a failover waits for nothing else); `report` then
/// turns the decision, and the sends the announcer could not make, into status objects, events and failures, each
/// with its reason. `Memory` is what one pass leaves for the next: it is how events are raised on change only.
struct SpeakerPass {
    struct Input: Sendable {
        var node: String
        var configuration: Configuration
        /// The Services this speaker handles (its loadBalancerClass).
        var services: [Service]
        var endpointSlices: [EndpointSlice]
        var nodes: [Node]
        var interfaces: [NetworkInterface]
        /// Nil when membership is off: node conditions alone decide.
        var liveMembers: Set<String>?
        var interfaceExcludes = InterfaceEligibility.defaultExcludes
        var ignoreExcludeLabel = false
        /// The BGPPeers whose sessions are established: a Service's BGP status lists only those, and `nodeAssigned`
        /// for BGP waits for one. Nil: not known (every configured peer counts).
        var establishedPeers: Set<String>?
    }

    /// What the network should carry.
    struct Network {
        var plan: Plan
        /// The Service of each planned address.
        var serviceOf: [IPAddress: ServiceKey]
        /// Every owned address on each interface it goes out on.
        var layer2: Set<LayerTwoAnnouncer.Announcement>
        /// Services with an owned address that no interface here can carry, with the reason.
        var unannounceable: [ServiceKey: String]
        /// The BGPPeers that apply to this node, their routes, and the router ID (this node's first IPv4 InternalIP).
        var peers: [BGPPeer]
        var routes: [String: [IPPrefix: RouteAttributes]]
        var routerID: IPv4Address?
    }

    /// What the previous pass reported: statuses (for `nodeAssigned` on change) and failures (for `announceFailed` on
    /// change). The status arrays are the ones the reporter and `/debug/state` hold, not copies.
    struct Memory {
        var assigned = StatusReporter.Desired()
        var failures: [ServiceKey: String] = [:]
    }

    /// What the cluster should be told.
    struct Report {
        var status: StatusReporter.Desired
        var events: [StatusReporter.EventNote]
        /// Every Service that cannot be (fully) announced here, with the reason; `newFailures` are the ones to log.
        var failures: [ServiceKey: String]
        var newFailures: [ServiceKey: String]
        /// The addresses announced by BGP, for `metallb_speaker_announced`.
        var bgpAnnounced: [SpeakerRuntime.Announced]
        var memory: Memory { Memory(assigned: status, failures: failures) }
    }

    // MARK: - The network half

    static func snapshot(_ input: Input) -> ClusterSnapshot {
        var snapshot = ClusterSnapshot(configuration: input.configuration, services: input.services,
                                       endpointSlices: input.endpointSlices, nodes: input.nodes, liveMembers: input.liveMembers)
        snapshot.ignoreExcludeLabel = input.ignoreExcludeLabel
        return snapshot
    }

    /// Every Service's plan for this node: the addresses it announces, the candidates and the reasons.
    static func plan(_ input: Input) -> Plan { AnnouncementPolicy.plan(snapshot(input), node: input.node) }

    /// The nodes that can announce for each L2Advertisement now.
    static func layer2Nodes(_ input: Input) -> [String: [String]] { AnnouncementPolicy.layer2Nodes(snapshot(input)) }

    static func network(_ input: Input) -> Network {
        let plan = plan(input)
        let serviceOf = Dictionary(plan.services.values.flatMap { p in p.addresses.map { ($0, p.service) } }, uniquingKeysWith: min)
        let (layer2, unannounceable) = layer2Announcements(plan, serviceOf: serviceOf, interfaces: input.interfaces,
                                                           excludes: input.interfaceExcludes)
        let me = input.nodes.first { $0.metadata.name == input.node }
        return Network(plan: plan, serviceOf: serviceOf, layer2: layer2, unannounceable: unannounceable,
                       peers: input.configuration.peers(forNodeLabels: me?.metadata.labels ?? [:]),
                       routes: plan.desired.bgp,
                       routerID: me.flatMap { $0.addresses("InternalIP").lazy.compactMap { try? IPv4Address($0) }.first })
    }

    /// Each owned address on the interfaces it may be announced on: the advertisement's list, or every eligible one;
    /// IPv4 needs an interface with an IPv4 address, IPv6 one with a link-local address. Services left with no
    /// interface for an address are returned with the reason.
    static func layer2Announcements(_ plan: Plan, serviceOf: [IPAddress: ServiceKey], interfaces: [NetworkInterface], excludes: [String])
        -> (Set<LayerTwoAnnouncer.Announcement>, [ServiceKey: String]) {
        var result = Set<LayerTwoAnnouncer.Announcement>()
        result.reserveCapacity(plan.desired.layer2.count)
        var failures: [ServiceKey: String] = [:]
        // One endpoint object per interface list: the addresses on one interface share it.
        var cache: [Set<String>: [SharedEndpoint]] = [:]
        for (ip, listed) in plan.desired.layer2.sorted(by: { $0.key < $1.key }) {
            let endpoints: [SharedEndpoint]
            if let have = cache[listed] {
                endpoints = have
            } else {
                endpoints = InterfaceEligibility.evaluate(interfaces, listed: listed.sorted(), excludes: excludes)
                    .filter(\.decision.isEligible).compactMap { LinkEndpoint($0.interface).map(SharedEndpoint.init) }
                cache[listed] = endpoints
            }
            var any = false
            for e in endpoints where carries(e.endpoint, ip) {
                result.insert(.init(ip: ip, interface: e))
                any = true
            }
            if !any, let service = serviceOf[ip] {
                let missing = listed.isEmpty ? "no eligible interface" : "none of the interfaces \(listed.sorted().joined(separator: ", ")) is usable here"
                failures[service, default: ""] += "\(ip): \(missing) (see `speaker status`); "
            }
        }
        return (result, failures)
    }

    /// IPv4 is answered from an interface with an IPv4 address (the sender of its ARP probes); IPv6 from one with a
    /// link-local address (the source of its advertisements).
    static func carries(_ e: LinkEndpoint, _ ip: IPAddress) -> Bool {
        switch ip {
        case .v4: !e.ipv4.isEmpty
        case .v6: e.linkLocal != nil
        }
    }

    // MARK: - The report half

    /// `sendFailures`: the announcements the announcer could not make (an interface whose socket would not open).
    static func report(_ input: Input, _ network: Network, sendFailures: [LayerTwoAnnouncer.Announcement: String],
                       previous: Memory) -> Report {
        let plan = network.plan
        var failures = network.unannounceable
        for (a, why) in sendFailures.sorted(by: { $0.key.description < $1.key.description }) {
            if let service = network.serviceOf[a.ip] { failures[service, default: ""] += "\(a): \(why); " }
        }
        let carrying = Set(network.peers.map(\.name)).intersection(input.establishedPeers ?? Set(network.peers.map(\.name)))
        let (status, bgpAnnounced) = statuses(plan, layer2: network.layer2, peers: carrying)
        let uids = Dictionary(input.services.map { (ServiceKey(namespace: $0.metadata.namespace ?? "", name: $0.metadata.name ?? ""), $0.metadata.uid) },
                              uniquingKeysWith: { a, _ in a })
        var events = assignedEvents(status, previous: previous.assigned, node: input.node, uids: uids)
        let newFailures = failures.filter { previous.failures[$0.key] != $0.value }
        for (key, message) in newFailures.sorted(by: { $0.key < $1.key }) {
            events.append(.init(namespace: key.namespace, name: key.name, uid: uids[key] ?? nil, reason: "announceFailed",
                                message: message, warning: true))
        }
        return Report(status: status, events: events, failures: failures, newFailures: newFailures, bgpAnnounced: bgpAnnounced)
    }

    /// The status objects' content: each layer 2 address with its interfaces (only Services with an address on an
    /// interface), and each BGP Service with the peers (of this node) its routes go to.
    static func statuses(_ plan: Plan, layer2: Set<LayerTwoAnnouncer.Announcement>, peers: Set<String>)
        -> (StatusReporter.Desired, [SpeakerRuntime.Announced]) {
        var desired = StatusReporter.Desired()
        var bgpAnnounced: [SpeakerRuntime.Announced] = []
        var entries: [SpeakerRuntime.Layer2Entry] = []
        // Most addresses share one interface list: keep one copy of each list, not one per address.
        var lists: [[String]: [String]] = [:]
        func shared(_ list: [String]) -> [String] {
            if let have = lists[list] { return have }
            lists[list] = list
            return list
        }
        let byIP = Dictionary(grouping: layer2, by: \.ip)
        for p in plan.services.values.sorted(by: { $0.service < $1.service }) {
            if p.layer2.contains(where: { $0.decision.announces }), p.addresses.contains(where: { byIP[$0]?.isEmpty == false }) {
                for ip in p.addresses {
                    entries.append(.init(ip: ip, service: p.service, interfaces: shared((byIP[ip] ?? []).map(\.interface.name).sorted())))
                }
            }
            if case .announce(let routes)? = p.bgp {
                let names = shared(Set(routes.flatMap(\.peers)).intersection(peers).sorted())
                if !names.isEmpty {
                    desired.bgp[p.service] = names
                    bgpAnnounced += p.addresses.map { .init(service: p.service, ip: $0) }
                }
            }
        }
        // Kept until the next pass: to its size, not the room for up to twice as many that appending left.
        if entries.capacity > entries.count + entries.count / 8 { entries = entries.withUnsafeBufferPointer { Array($0) } }
        desired.layer2Entries = entries
        return (desired, bgpAnnounced)
    }

    // MARK: - BGP sessions

    /// What the previous passes saw of each session (by BGPPeer name), for events on change only.
    struct SessionMemory: Hashable {
        var generation: Int?
        var established = false
        /// Since when the session has not been established (nil while it is).
        var downSince: ContinuousClock.Instant?
        /// A Warning was posted for the current episode: that it went down, that it does not come up.
        var warnedDown = false
        var warnedStuck = false
    }

    /// A session that has not come up this long after it started or went down gets a Warning.
    static let notEstablishedAfter: Duration = .seconds(20)

    /// Each session's BGPSessionState, and the events of its changes: `BGPSessionDown` (Warning) when an established
    /// session goes down, `BGPSessionNotEstablished` (Warning) when one has not come up for `notEstablishedAfter`,
    /// `BGPSessionEstablished` when one comes back after either. The events are about the BGPPeer object.
    static func sessions(_ peers: [DebugState.Peer], previous: [String: SessionMemory], now: ContinuousClock.Instant, node: String,
                         namespace: String) -> (states: [StatusReporter.SessionState], events: [StatusReporter.EventNote], memory: [String: SessionMemory]) {
        var states: [StatusReporter.SessionState] = []
        var events: [StatusReporter.EventNote] = []
        var memory: [String: SessionMemory] = [:]
        for p in peers {
            let address = p.address.hasPrefix("[") ? String(p.address.dropFirst().prefix { $0 != "]" }) : String(p.address.split(separator: ":").first ?? "")
            let bfd = p.bfd.map { String($0.prefix { $0 != ":" }) } ?? "N/A"
            states.append(.init(peer: p.name, address: address, bgp: p.state, bfd: bfd, lastError: p.state == "Established" ? nil : p.lastError))
            // A replaced session (its BGPPeer's settings changed) starts afresh: its predecessor was not lost.
            var m = previous[p.name].flatMap { $0.generation == p.generation ? $0 : nil } ?? SessionMemory(generation: p.generation, downSince: now)
            func note(_ reason: String, _ message: String, warning: Bool) {
                events.append(.init(namespace: namespace, name: p.name, uid: nil, reason: reason, message: message, warning: warning,
                                    apiVersion: "metallb.io/v1beta2", kind: "BGPPeer"))
            }
            let session = "BGP session from node \"\(node)\" to \(p.address)"
            if p.state == "Established" {
                if m.warnedDown || m.warnedStuck { note("BGPSessionEstablished", "\(session) is established", warning: false) }
                m = SessionMemory(generation: p.generation, established: true)
            } else {
                if m.established {
                    note("BGPSessionDown", "\(session) went down: \(p.lastError ?? p.state)", warning: true)
                    m = SessionMemory(generation: p.generation, downSince: now, warnedDown: true)
                } else if !m.warnedStuck, let since = m.downSince, now - since >= notEstablishedAfter {
                    note("BGPSessionNotEstablished", "\(session) has not been established for \(Int(notEstablishedAfter.components.seconds)) s (\(p.state)): \(p.lastError ?? "no answer")",
                         warning: true)
                    m.warnedStuck = true
                }
                if m.downSince == nil { m.downSince = now }
            }
            memory[p.name] = m
        }
        return (states, events, memory)
    }

    /// `nodeAssigned` for each (Service, protocol) this node announces now and did not in the previous pass.
    static func assignedEvents(_ now: StatusReporter.Desired, previous: StatusReporter.Desired, node: String,
                               uids: [ServiceKey: String?]) -> [StatusReporter.EventNote] {
        let before = Set(previous.layer2Entries.map(\.service))
        let layer2 = Set(now.layer2Entries.map(\.service)).subtracting(before).map { ($0, "layer2") }
        let bgp = now.bgp.keys.filter { previous.bgp[$0] == nil }.map { ($0, "bgp") }
        return (layer2 + bgp).sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { key, proto in
            .init(namespace: key.namespace, name: key.name, uid: uids[key] ?? nil, reason: "nodeAssigned",
                  message: "announcing from node \"\(node)\" with protocol \"\(proto)\"", warning: false)
        }
    }
}

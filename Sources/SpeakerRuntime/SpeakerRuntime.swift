import AnnouncementPolicy
import CoreMetrics
import Crypto
import ConfigurationWatch
import Foundation
import KubernetesClient
import KubernetesModel
import MetricsText
import LinkLayer
import LoadBalancerConfig
import Logging
import Membership
import MembershipTransport
import NIOCore
import Netlink
import NetworkPrimitives
import PacketSocket
import Synchronization

/// The speaker daemon's wiring: informers (Services, EndpointSlices, Nodes, the metallb.io CRs or config files,
/// Secrets) and `Membership` (which speakers are alive) → `AnnouncementPolicy.plan` → the layer 2 announcer and the
/// BGP sessions; then, apart from the network path, status objects, events and ConfigurationState.
///
/// Passes are level-triggered and coalescing. A membership change triggers a pass at once, and a pass does the
/// network work (gratuitous frames, UPDATEs) before any API write, so a takeover costs a plan and a send.
/// `shutdown()` (SIGTERM) leaves membership first, so the next owner takes over while this node still answers,
/// then stops answering and sends Cease to every peer.
public final class SpeakerRuntime: Sendable {
    public struct MembershipOptions: Sendable {
        public var enabled = true
        /// Both families (IPv4 members are reached as IPv4-mapped addresses); IPv4 alone on a host without IPv6.
        public var bindHost = "::"
        /// MetalLB's memberlist port.
        public var port = 7946
        /// The key, when given directly (MetalLB mounts the Secret as a file: `--ml-secret-key-path`).
        public var secret: [UInt8]?
        /// Otherwise read once at start from this Secret in `namespace`, key `secretkey` (MetalLB's `memberlist`).
        public var secretName = "memberlist"
        /// Heartbeat interval and the silence after which a speaker counts as dead.
        public var interval: Duration = .milliseconds(50)
        public var timeout: Duration = .milliseconds(150)
        public init() {}
    }

    public struct Options: Sendable {
        public var nodeName: String
        /// Where the metallb.io CRs, Secrets and status objects live.
        public var namespace = "metallb-system"
        public var loadBalancerClass: String?
        /// Read the configuration from these YAML files instead of CRs (re-read when they change).
        public var configFiles: [String] = []
        public var membership = MembershipOptions()
        /// Interface name patterns never used for layer 2 (MetalLB's excludel2.yaml).
        public var interfaceExcludes = InterfaceEligibility.defaultExcludes
        /// MetalLB's `--ignore-exclude-lb`.
        public var ignoreExcludeLabel = false
        public var gratuitous = GratuitousSchedule.default
        /// Keep BGP routes at the routers across a restart (peers with graceful restart) instead of Cease.
        public var gracefulRestartOnStop = false
        /// Identifies this speaker in events (`reportingInstance`).
        public var instance = ProcessInfo.processInfo.hostName

        public init(nodeName: String) { self.nodeName = nodeName }
    }

    let client: KubernetesClient
    let options: Options
    let logger: Logger
    let metrics: SpeakerMetrics
    let layerTwoMetrics: LayerTwoMetrics
    /// Per-address metric families, written at each scrape: serve them after the swift-metrics registry.
    public var scrapedMetrics: [any ScrapedFamilies] { metrics.scraped + [layerTwoMetrics] }
    let announcer: any LayerTwoReconciling
    let sessions: any BGPReconciling
    let interfaceSource: any InterfaceSource
    private let membershipFactory: MembershipFactory?
    let reporter: StatusReporter
    let conflicts: ConflictSink
    private let state: Mutex<State>
    private let stopSignal = ShutdownSignal()
    private let started = ContinuousClock.now
    private let trigger: AsyncStream<Void>
    private let pull: AsyncStream<Void>.Continuation

    struct State {
        var debug: DebugState
        var membership: (any MembershipService)?
        var memberAddresses: [String: SocketAddress] = [:]
        var interfaces: [NetworkInterface]?
        var recentChanges: [String] = []
        /// When the last member was lost: a takeover after it is timed for `beacon_failover_seconds`.
        var lastLoss: ContinuousClock.Instant?
        var conflicts: [String] = []
        /// The addresses announced by layer 2 (`/debug/state`'s `layer2`, built when asked for).
        var layer2: [Layer2Entry] = []
        var ready = false
        /// What the last pass planned from, to re-plan when /debug/state is asked for: keeping every Service's plan
        /// (candidates, hashes, reasons) between passes cost about 1 KB per Service for a rarely read answer.
        var explainInputs: ExplainInputs?
        /// The last whole-cluster explanation, for the pass it was planned in: repeated `/debug/state` requests cost
        /// an encode, not a plan of every Service. Dropped after `explainedLifetime`, so an idle speaker does not
        /// keep plans it was asked for once.
        var explained: (pass: Int, at: ContinuousClock.Instant, services: [ServiceExplanation])?
        /// Addresses to announce again on the next pass: a member came back, and these saw another station answer
        /// for them in the last minute (the split that just healed).
        var healBurst: Set<IPAddress> = []
    }

    static let explainedLifetime: Duration = .seconds(10)

    public convenience init(client: KubernetesClient, options: Options, logger: Logger,
                            metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.init(client: client, options: options, logger: logger, metricsFactory: metricsFactory, adapters: Adapters())
    }

    init(client: KubernetesClient, options: Options, logger: Logger, metricsFactory: any MetricsFactory, adapters: Adapters) {
        self.client = client
        self.options = options
        var l = logger
        l[metadataKey: "node"] = "\(options.nodeName)"
        self.logger = l
        metrics = SpeakerMetrics(factory: metricsFactory)
        layerTwoMetrics = LayerTwoMetrics()
        sessions = adapters.bgp ?? PeerSessions(logger: l, factory: metricsFactory)
        interfaceSource = adapters.interfaces ?? NetlinkInterfaces(logger: l)
        membershipFactory = adapters.membership
        reporter = StatusReporter(client: client, namespace: options.namespace, node: options.nodeName, instance: options.instance,
                                  logger: l, metrics: metrics)
        state = Mutex(State(debug: DebugState(node: options.nodeName)))
        (trigger, pull) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        let sink = ConflictSink()
        conflicts = sink
        announcer = adapters.layerTwo ?? LayerTwoAnnouncer(schedule: options.gratuitous, metrics: layerTwoMetrics, logger: l,
                                                           onConflict: { c in sink.report(c) })
        sink.setHandler { [weak self] c in self?.conflictSeen(c) }
    }

    /// Another station answers for an address this node announces: a split brain (membership cut between
    /// speakers) or a host misconfigured with a service IP. `ConflictSink` lets through the start of each episode
    /// and a summary a minute while it lasts; each is logged, shown in /debug/state and posted as a Warning event
    /// on the Service.
    private func conflictSeen(_ c: ConflictTracker.Report) {
        let stamp = KubeTime.micro()
        let service: ServiceKey? = state.withLock { s in
            s.conflicts.insert("\(stamp) \(c.description)", at: 0)
            if s.conflicts.count > 20 { s.conflicts.removeLast(s.conflicts.count - 20) }
            s.debug.conflicts = s.conflicts
            return s.layer2.first { $0.ip == c.ip }?.service
        }
        logger.warning(c.continuing ? "another station still claims an announced address"
                                    : "another station answers for an announced address (split brain, or a host configured with a service IP)",
                       metadata: ["ip": "\(c.ip)", "interface": "\(c.interface)", "mac": "\(c.stations.map(\.description).joined(separator: ","))",
                                  "frames": "\(c.frames)"])
        guard let service else { return }
        reporter.add(event: .init(namespace: service.namespace, name: service.name, uid: nil, reason: "addressConflict",
                                  message: "\(c.description) (announced by node \"\(options.nodeName)\")", warning: true))
    }

    /// True once the first pass has been made (for /readyz).
    public var isReady: Bool { state.withLock { $0.ready } }

    /// Why `/readyz` fails, or nil: caches not synced or no pass made yet, or a membership socket that cannot talk
    /// (this speaker then cannot see who is alive, nor be seen).
    public var notReadyReason: String? {
        let (ready, membership) = state.withLock { ($0.ready, $0.membership) }
        guard ready else { return "caches not synced or first pass not done" }
        if let membership, !membership.talking {
            return "membership socket down: \(membership.lastError ?? "opening")"
        }
        return nil
    }

    /// The inputs of a pass, by reference: the informers' caches, the configuration in force and the live members.
    struct ExplainInputs: Sendable {
        let services: Informer<Service>
        let slices: Informer<EndpointSlice>
        let nodes: [Node]
        let configuration: Configuration
        let live: Set<String>?
    }

    /// What `/debug/state` serves; `service` ("namespace/name") limits the explanations to that Service. They are
    /// planned now from the current caches, with the configuration and members of the last pass.
    public func debugState(service: String? = nil) -> DebugState {
        let now = ContinuousClock.now
        let (base, layer2, node, addresses, recent, inputs, explained) = state.withLock { s in
            if let e = s.explained, e.pass != s.debug.passes || now - e.at > Self.explainedLifetime { s.explained = nil }
            return (s.debug, s.layer2, s.membership, s.memberAddresses, s.recentChanges, s.explainInputs, s.explained)
        }
        var d = base
        d.layer2 = layer2.map { DebugState.Announcement(ip: $0.ip.description, service: $0.service.description, interfaces: $0.interfaces) }
        if service == nil, let explained {
            d.services = explained.services
        } else if let inputs {
            var services = inputs.services.snapshot().filter(handles)
            let slices: [EndpointSlice]
            if let service {
                services = services.filter { "\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")" == service }
                slices = inputs.slices.snapshot().filter { "\($0.metadata.namespace ?? "")/\($0.serviceName ?? "")" == service }
            } else {
                slices = inputs.slices.snapshot()
            }
            let input = SpeakerPass.Input(node: options.nodeName, configuration: inputs.configuration, services: services,
                                          endpointSlices: slices, nodes: inputs.nodes, interfaces: [], liveMembers: inputs.live,
                                          ignoreExcludeLabel: options.ignoreExcludeLabel)
            d.services = SpeakerPass.plan(input).services.values.sorted { $0.service < $1.service }.map(ServiceExplanation.init)
            if service == nil {
                let services = d.services
                state.withLock { s in if s.debug.passes == base.passes { s.explained = (base.passes, now, services) } }
            }
        }
        d.uptimeSeconds = PeerSessions.seconds(ContinuousClock.now - started)
        d.peers = sessions.report(now: .now)
        if let node {
            let alive = node.alive
            d.membership.members = Set(addresses.keys).union([options.nodeName]).sorted().map { name in
                DebugState.Member(name: name, address: addresses[name].map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }, alive: alive.contains(name))
            }
            d.membership.refusedDatagrams = node.rejectedDatagrams
            d.membership.talking = node.talking
            d.membership.socketError = node.lastError
            d.membership.socketFailures = node.socketFailures
        }
        d.membership.recentChanges = recent
        return d
    }

    /// Starts the ordered stop (SIGTERM): leave, stop answering, Cease. `run()` returns when it is done.
    public func shutdown() { stopSignal.fire() }

    // MARK: - Run

    /// The cluster state a pass reads: the informers' caches and the configuration in force.
    struct Inputs: Sendable {
        let services: Informer<Service>
        let slices: Informer<EndpointSlice>
        let nodes: Informer<Node>
        let configuration: ConfigurationSource
        var hasSynced: Bool { services.hasSynced && slices.hasSynced && nodes.hasSynced && configuration.hasSynced }
    }

    public func run() async throws {
        let inputs = Inputs(
            services: Informer(client: client, resource: .services, logger: logger, store: CacheProjection.service),
            slices: Informer(client: client, resource: .endpointSlices, logger: logger, store: CacheProjection.endpointSlice),
            nodes: Informer(client: client, resource: .nodes, logger: logger),
            configuration: ConfigurationSource(client: client, namespace: options.namespace, files: options.configFiles,
                                               withSecrets: true, logger: logger))
        let membership = await makeMembership()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for watch in watches(inputs) { group.addTask { await watch(); return false } }
            if let membership { group.addTask { await self.runMembership(membership); return false } }
            group.addTask { try await self.reporter.run(); return false }
            group.addTask { await self.probeConflicts(); return false }
            group.addTask { await self.sessions.run(); return false }
            group.addTask { await self.watchInterfaces(); return false }
            group.addTask {
                guard await self.stopSignal.wait() else { return false }
                await self.stopInOrder(membership: membership)
                return true
            }
            group.addTask { try await self.loop(inputs); return true }
            group.addTask { await self.watchSessions(); return false }
            // Runs until the ordered stop is done (or the pass loop ends, or a child throws); other children that
            // finish early (membership after its leave, a watch that gave up) do not end the runtime.
            while let finished = try await group.next() {
                if finished { break }
            }
            group.cancelAll()
        }
    }

    /// The informers and the configuration source, each with the forwarding of its changes into a pass.
    private func watches(_ inputs: Inputs) -> [@Sendable () async -> Void] {
        let signals = [inputs.services.changes(), inputs.slices.changes(), inputs.nodes.changes()]
        return [{ await inputs.services.run() }, { await inputs.slices.run() }, { await inputs.nodes.run() },
                { await inputs.configuration.run { self.pull.yield() } }]
            + signals.map { signal in { for await _ in signal { self.pull.yield() } } }
    }

    /// A pass when a BGP session comes up or goes down (its status and events follow), and one when a session has
    /// not been established for `SpeakerPass.notEstablishedAfter` (so that the pass says so).
    private func watchSessions() async {
        sessions.setChangeHandler { [weak self] in self?.pull.yield() }
        var downSince: [String: ContinuousClock.Instant] = [:]
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = ContinuousClock.now
            let down = sessions.notEstablished()
            downSince = downSince.filter { down.contains($0.key) }
            for s in down where downSince[s] == nil { downSince[s] = now }
            // A pass each second for three seconds from then: the pass keeps its own clock of the episode, which
            // starts a moment after this one.
            let due = now - SpeakerPass.notEstablishedAfter
            if downSince.values.contains(where: { $0 <= due && $0 > due - .seconds(3) }) { pull.yield() }
        }
    }

    private func runMembership(_ membership: any MembershipService) async {
        do { try await membership.run() } catch {
            logger.error("membership stopped", metadata: ["error": "\(error)"])
        }
    }

    /// Conflicts that just began: ask who has the address once a handover would be over (ConflictTracker).
    private func probeConflicts() async {
        for await probe in conflicts.probes {
            try? await Task.sleep(until: probe.at)
            if Task.isCancelled { break }
            await announcer.probe(probe.ip)
        }
    }

    private func watchInterfaces() async {
        await interfaceSource.watch { interfaces in
            self.state.withLock { $0.interfaces = interfaces }
            self.pull.yield()
        }
    }

    /// Leave first (the next owner takes over while this node still answers), then stop answering, then Cease.
    private func stopInOrder(membership: (any MembershipService)?) async {
        let begin = ContinuousClock.now
        if let membership {
            membership.stop()
            // The leave is one datagram; the others plan and send their first frame within a few milliseconds.
            try? await Task.sleep(for: .milliseconds(50))
        }
        await announcer.stop()
        sessions.stopAll(gracefulRestart: options.gracefulRestartOnStop)
        // Give the sessions a moment to write their NOTIFICATIONs before the group is cancelled.
        try? await Task.sleep(for: .milliseconds(100))
        logger.info("stopped announcing", metadata: ["seconds": "\(PeerSessions.seconds(ContinuousClock.now - begin))"])
    }

    private func makeMembership() async -> (any MembershipService)? {
        let m = options.membership
        func off(_ why: String) -> (any MembershipService)? {
            logger.warning("membership is off; node conditions decide who announces, as MetalLB without memberlist", metadata: ["reason": "\(why)"])
            state.withLock { $0.debug.membership.enabled = false; $0.debug.membership.disabledReason = why }
            return nil
        }
        guard m.enabled else { return off("disabled by flag") }
        let onChange: @Sendable ([FailureDetector.Change], Set<String>) -> Void = { [weak self] changes, alive in
            self?.membershipChanged(changes, alive: alive)
        }
        let node: any MembershipService
        if let membershipFactory {
            node = membershipFactory(onChange)
        } else {
            let key: SymmetricKey
            switch await membershipKey() {
            case .success(let k): key = k
            case .failure(let why): return off(why.description)
            }
            // Not the clock: the generation starts at 1 and the others tell a restarted speaker where to go on
            // (FailureDetector.incarnation), so a clock set back cannot lock a speaker out.
            var configuration = MembershipNode.Configuration(name: options.nodeName, incarnation: 1)
            configuration.bindHost = m.bindHost
            configuration.port = m.port
            configuration.detector.interval = m.interval
            configuration.detector.timeout = m.timeout
            node = MembershipNode(configuration: configuration, key: key, logger: logger, heartbeatGaps: metrics.heartbeatGap, onChange: onChange)
        }
        state.withLock { s in
            s.membership = node
            s.debug.membership.enabled = true
            s.debug.membership.port = m.port
        }
        return node
    }

    /// The membership key: the flag's secret, or the Secret's `secretkey`, hashed to 32 bytes.
    private func membershipKey() async -> Result<SymmetricKey, MembershipKeyProblem> {
        let m = options.membership
        var secret = m.secret
        if secret == nil {
            do {
                let s = try await client.get(.secrets, namespace: options.namespace, name: m.secretName)
                secret = s.data?["secretkey"].flatMap { Data(base64Encoded: $0) }.map { Array($0) }
                if secret == nil { return .failure(.init("Secret \(options.namespace)/\(m.secretName) has no \"secretkey\"")) }
            } catch {
                return .failure(.init("cannot read Secret \(options.namespace)/\(m.secretName): \(error)"))
            }
        }
        guard let secret, !secret.isEmpty else { return .failure(.init("the membership key is empty")) }
        return .success(SymmetricKey(data: SHA256.hash(data: secret)))
    }

    struct MembershipKeyProblem: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private func membershipChanged(_ changes: [FailureDetector.Change], alive: Set<String>) {
        let now = ContinuousClock.now
        let stamp = KubeTime.micro()
        state.withLock { s in
            for c in changes {
                switch c {
                case .up(let n): s.recentChanges.insert("\(stamp) \(n) up", at: 0)
                case .down(let n, let reason):
                    s.recentChanges.insert("\(stamp) \(n) down: \(reason)", at: 0)
                    s.lastLoss = now
                }
            }
            if s.recentChanges.count > 20 { s.recentChanges.removeLast(s.recentChanges.count - 20) }
        }
        metrics.aliveMembers.record(alive.count)
        if changes.contains(where: { if case .up = $0 { true } else { false } }) {
            let conflicted = conflicts.recentlyConflicted(within: .seconds(60))
            if !conflicted.isEmpty { state.withLock { $0.healBurst.formUnion(conflicted) } }
        }
        for c in changes {
            switch c {
            case .up(let n): logger.info("speaker joined", metadata: ["member": "\(n)"])
            case .down(let n, let reason): logger.info("speaker lost", metadata: ["member": "\(n)", "reason": "\(reason)"])
            }
        }
        pull.yield()
    }

    // MARK: - The pass

    /// Level-triggered passes: each reads the caches, decides (`SpeakerPass`), does the network work, then reports.
    private func loop(_ inputs: Inputs) async throws {
        var memory = SpeakerPass.Memory()
        var sessionMemory: [String: SpeakerPass.SessionMemory] = [:]
        for await _ in trigger {
            guard inputs.hasSynced, let interfaces = state.withLock({ $0.interfaces }) else { continue }
            refreshConfiguration(inputs.configuration)
            guard let configuration = inputs.configuration.current else { continue }
            let nodes = inputs.nodes.snapshot()
            var input = SpeakerPass.Input(node: options.nodeName, configuration: configuration,
                                          services: inputs.services.snapshot().filter(handles), endpointSlices: inputs.slices.snapshot(),
                                          nodes: nodes, interfaces: interfaces, liveMembers: follow(nodes),
                                          interfaceExcludes: options.interfaceExcludes, ignoreExcludeLabel: options.ignoreExcludeLabel)
            let network = SpeakerPass.network(input)
            // Layer 2 first: it is what a failover waits for.
            let sent = await announce(network.layer2)
            sessions.reconcile(peers: network.peers, routes: network.routes, routerID: network.routerID,
                               bfdProfiles: configuration.bfdProfiles)
            let peers = sessions.report(now: .now)
            input.establishedPeers = Set(peers.filter { $0.state == "Established" }.map(\.name))
            let report = SpeakerPass.report(input, network, sendFailures: sent.failed, previous: memory)
            memory = report.memory
            let bgp = SpeakerPass.sessions(peers, previous: sessionMemory, now: .now, node: options.nodeName, namespace: options.namespace)
            sessionMemory = bgp.memory
            reporter.setSessions(bgp.states)
            for e in bgp.events { reporter.add(event: e) }
            publish(report, input: input, inputs: inputs)
        }
    }

    /// Reads the configuration again if it changed: all or nothing, the last good one stays in force.
    private func refreshConfiguration(_ source: ConfigurationSource) {
        let outcome = source.refresh()
        switch outcome {
        case .unchanged:
            return
        case .loaded(let loaded, let changed):
            let c = loaded.configuration
            if changed { logger.info("configuration loaded", metadata: ["pools": "\(c.pools.count)", "peers": "\(c.peers.count)"]) }
            metrics.configLoaded.record(1)
            metrics.configStale.record(0)
            state.withLock { s in
                s.debug.configuration = .init(loaded: true, stale: false, error: nil, pools: c.pools.count, peers: c.peers.count)
            }
        case .rejected(let error):
            let summary = error.description
            logger.error("configuration rejected; the last good configuration stays in force", metadata: ["error": "\(summary)"])
            metrics.configStale.record(1)
            state.withLock { s in s.debug.configuration.stale = true; s.debug.configuration.error = summary }
        }
        if options.configFiles.isEmpty, let verdict = source.verdict(after: outcome) {
            reporter.setConfigurationState(name: "speaker-\(options.nodeName)", result: verdict.result, error: verdict.error)
        }
    }

    /// Membership follows the Nodes (hostNetwork speakers listen on the node's address). Returns the live members,
    /// nil when membership is off.
    private func follow(_ nodes: [Node]) -> Set<String>? {
        var members: [String: SocketAddress] = [:]
        for n in nodes {
            guard let name = n.metadata.name else { continue }
            let ips = n.addresses("InternalIP")
            guard let ip = ips.first(where: { !$0.contains(":") }) ?? ips.first,
                  let address = try? SocketAddress(ipAddress: ip, port: options.membership.port) else { continue }
            members[name] = address
        }
        let membership = state.withLock { s -> (any MembershipService)? in
            guard s.memberAddresses != members else { return nil }
            s.memberAddresses = members
            return s.membership
        }
        membership?.setMembers(members)
        return state.withLock { $0.membership?.alive }
    }

    /// Hands the layer 2 set to the announcer; then announces again what a healed split left in doubt, and times a
    /// takeover that follows a lost member.
    private func announce(_ layer2: Set<LayerTwoAnnouncer.Announcement>) async -> LayerTwoAnnouncer.UpdateReport {
        let report = await announcer.update(layer2)
        conflicts.withdraw(report.removed.map(\.ip))
        let heal = state.withLock { s in defer { s.healBurst = [] }; return s.healBurst }
        if !heal.isEmpty {
            let n = await announcer.reannounce(heal)
            if n > 0 { logger.info("a member came back: announced again the addresses that were in conflict", metadata: ["addresses": "\(n)"]) }
        }
        if !report.added.isEmpty, let loss = state.withLock({ s -> ContinuousClock.Instant? in defer { s.lastLoss = nil }; return s.lastLoss }),
           ContinuousClock.now - loss < .seconds(10) {
            let took = ContinuousClock.now - loss
            let (sec, atto) = took.components
            metrics.failover.recordNanoseconds(sec * 1_000_000_000 + atto / 1_000_000_000)
            state.withLock { s in s.debug.failover.takeovers += 1; s.debug.failover.lastSeconds = PeerSessions.seconds(took) }
            logger.info("took over after a member was lost", metadata: ["addresses": "\(report.added.count)", "seconds": "\(PeerSessions.seconds(took))"])
        }
        return report
    }

    /// Status objects, events, metrics, logs and `/debug/state`, after the network work.
    private func publish(_ report: SpeakerPass.Report, input: SpeakerPass.Input, inputs: Inputs) {
        for (key, message) in report.newFailures.sorted(by: { $0.key < $1.key }) {
            logger.warning("cannot announce", metadata: ["service": "\(key)", "reason": "\(message)"])
        }
        reporter.set(report.status, events: report.events)
        metrics.setAnnounced(layer2: report.status.layer2Entries, bgp: report.bgpAnnounced, node: options.nodeName)
        metrics.advertisementNodes.update(SpeakerPass.layer2Nodes(input))
        let interfaceReport = InterfaceEligibility.evaluate(input.interfaces, excludes: options.interfaceExcludes).map { i, d in
            DebugState.Interface(name: i.name, index: i.index, mac: i.mac, decision: d.description, eligible: d.isEligible)
        }
        state.withLock { s in
            s.explainInputs = ExplainInputs(services: inputs.services, slices: inputs.slices, nodes: input.nodes,
                                            configuration: input.configuration, live: input.liveMembers)
            s.layer2 = report.status.layer2Entries
            s.debug.interfaces = interfaceReport
            s.debug.passes += 1
            s.ready = true
        }
    }

    /// An address announced by layer 2, for `/debug/state` and to name the Service of a conflict.
    struct Layer2Entry {
        var ip: IPAddress
        var service: ServiceKey
        var interfaces: [String]
    }

    /// An address announced by BGP, for `metallb_speaker_announced`.
    struct Announced {
        var service: ServiceKey
        var ip: IPAddress
    }

    /// MetalLB's loadBalancerClass rule: unset handles Services without a class; set handles exactly that class.
    private func handles(_ s: Service) -> Bool { s.spec.loadBalancerClass == options.loadBalancerClass }
}

/// The announcer's conflict frames, called on the event loop for each: a `ConflictTracker` under a lock decides
/// what reaches the handler (the start of an episode, then a summary a minute), so a flood costs a counter.
final class ConflictSink: Sendable {
    private struct State {
        var handler: (@Sendable (ConflictTracker.Report) -> Void)?
        var tracker = ConflictTracker()
    }
    private let state = Mutex(State())
    private let epoch = ContinuousClock.now
    /// Addresses to ask about, with when: the runtime's probe task sends the requests.
    let probes: AsyncStream<(ip: IPAddress, at: ContinuousClock.Instant)>
    private let probeQueue: AsyncStream<(ip: IPAddress, at: ContinuousClock.Instant)>.Continuation

    init() {
        (probes, probeQueue) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(4096))
    }

    func setHandler(_ h: @escaping @Sendable (ConflictTracker.Report) -> Void) { state.withLock { $0.handler = h } }

    func report(_ c: LayerTwoAnnouncer.Conflict) {
        let instant = ContinuousClock.now
        let now = instant - epoch
        let (outcome, handler, wait) = state.withLock { s in
            (s.tracker.observe(ip: c.ip, mac: c.mac, interface: c.interface, now: now), s.handler, s.tracker.confirmAfter)
        }
        if outcome.probe { probeQueue.yield((c.ip, instant + wait + .milliseconds(100))) }
        if let report = outcome.report { handler?(report) }
    }

    /// Addresses with a conflicting frame within `within`.
    func recentlyConflicted(within: Duration) -> [IPAddress] {
        let now = ContinuousClock.now - epoch
        return state.withLock { $0.tracker.recentlyConflicted(now: now, within: within) }
    }

    /// Addresses no longer announced here; and episodes that went quiet end.
    func withdraw(_ ips: [IPAddress]) {
        let now = ContinuousClock.now - epoch
        state.withLock { s in
            s.tracker.withdraw(ips)
            s.tracker.expire(now: now)
        }
    }
}

/// One-shot: `wait()` returns once `fire` was called (before or after), telling whether it was a shutdown (true)
/// or the task's cancellation (false).
final class ShutdownSignal: Sendable {
    private enum State { case idle, waiting(CheckedContinuation<Bool, Never>), fired(Bool) }
    private let state = Mutex(State.idle)

    func fire(shutdown: Bool = true) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { s in
            switch s {
            case .idle: s = .fired(shutdown); return nil
            case .waiting(let c): s = .fired(shutdown); return c
            case .fired: return nil
            }
        }
        waiter?.resume(returning: shutdown)
    }

    func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let ready: Bool? = state.withLock { s in
                    switch s {
                    case .idle: s = .waiting(c); return nil
                    case .waiting: return nil
                    case .fired(let v): return v
                    }
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            fire(shutdown: false)
        }
    }
}

extension LinkEndpoint {
    /// From netlink's view; nil for interfaces without an Ethernet MAC.
    public init?(_ nic: NetworkInterface) {
        guard let text = nic.mac, let mac = try? MACAddress(text), mac != .zero else { return nil }
        var v4: [IPv4Address] = []
        var linkLocal: IPv6Address?
        for a in nic.addresses {
            guard let ip = try? IPAddress(a.split(separator: "/").first ?? "") else { continue }
            switch ip {
            case .v4(let x): v4.append(x)
            case .v6(let x): if x.value >> 118 == 0x3fa, linkLocal == nil { linkLocal = x }  // fe80::/10
            }
        }
        self.init(name: nic.name, index: nic.index, mac: mac, ipv4: v4, linkLocal: linkLocal)
    }
}

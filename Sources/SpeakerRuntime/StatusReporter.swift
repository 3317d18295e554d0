import Crypto
import KubernetesClient
import KubernetesModel
import Logging
import Synchronization

/// Writes what this node announces to the API, apart from the announcing itself so a slow API server never delays
/// a takeover: ServiceL2Status and ServiceBGPStatus objects (MetalLB's kinds, names `l2-*`/`bgp-*` and labels), and
/// the Events `nodeAssigned` (when this node starts announcing a Service) and `announceFailed` (when it cannot),
/// each once per change rather than on every pass. Failed writes are retried on the next pass.
final class StatusReporter: Sendable {
    struct ServiceStatus: Hashable, Sendable {
        var namespace: String
        var name: String
        /// Interfaces (layer 2) or BGPPeer names.
        var items: [String]
    }

    struct EventNote: Hashable, Sendable {
        var namespace: String
        var name: String
        var uid: String?
        var reason: String
        var message: String
        var warning: Bool
        /// What the event is about: a Service unless said otherwise.
        var apiVersion = "v1"
        var kind = "Service"
    }

    /// For each Service this node announces: its interfaces (layer 2) or BGPPeer names. The layer 2 part is the
    /// runtime's list of announced addresses (which `/debug/state` and the metrics share), grouped by Service only
    /// while a pass needs it: a second table of every Service cost about 65 bytes each at idle.
    struct Desired: Sendable {
        var layer2Entries: [SpeakerRuntime.Layer2Entry] = []
        var bgp: [ServiceKey: [String]] = [:]

        /// Each Service's interfaces: the union of its addresses' interfaces, sorted.
        var layer2: [ServiceKey: [String]] {
            var names: [ServiceKey: Set<String>] = [:]
            for e in layer2Entries { names[e.service, default: []].formUnion(e.interfaces) }
            return names.mapValues { $0.sorted() }
        }
    }

    /// One BGP session of this node, as a BGPSessionState object (FRR-K8s's kind and fields, plus `lastError`).
    struct SessionState: Hashable, Sendable {
        /// The BGPPeer's name (the object's name is derived from it).
        var peer: String
        /// The peer's address, without the port.
        var address: String
        var bgp: String
        /// Up, Down, Init, AdminDown, or N/A without a BFD profile.
        var bfd: String
        var lastError: String?
    }

    let client: KubernetesClient
    let namespace: String
    let node: String
    let instance: String
    let logger: Logger
    let metrics: SpeakerMetrics
    private let desired = Mutex(Desired())
    private let events = Mutex<[EventNote]>([])
    private let configState = Mutex<(name: String, result: String, error: String, written: Bool)?>(nil)
    private let trigger: AsyncStream<Void>
    private let pull: AsyncStream<Void>.Continuation
    /// This node's status objects, as stamps.
    private let l2: Informer<StatusStamp>
    private let bgp: Informer<StatusStamp>
    private let sessions: Informer<StatusStamp>
    private let sessionStates = Mutex<[SessionState]>([])

    init(client: KubernetesClient, namespace: String, node: String, instance: String, logger: Logger, metrics: SpeakerMetrics) {
        self.client = client
        self.namespace = namespace
        self.node = node
        self.instance = instance
        self.logger = logger
        self.metrics = metrics
        (trigger, pull) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        // Only the name and the status are compared, and the status only by its hash: the cache keeps a StatusStamp
        // per object (a cached status object cost about 1 KB per Service, a JSONValue of name and hash 400 bytes).
        let selector = ListOptions(labelSelector: "metallb.io/node=\(node)")
        l2 = Informer(client: client, resource: StatusStamp.resource(.serviceL2Statuses), namespace: namespace, options: selector, logger: logger,
                      store: StatusStamp.projection)
        bgp = Informer(client: client, resource: StatusStamp.resource(.serviceBGPStatuses), namespace: namespace, options: selector, logger: logger,
                       store: StatusStamp.projection)
        sessions = Informer(client: client, resource: StatusStamp.resource(.bgpSessionStates), namespace: namespace,
                            options: ListOptions(labelSelector: "frrk8s.metallb.io/node=\(node)"), logger: logger, store: StatusStamp.projection)
    }

    /// This node's BGP sessions, written as BGPSessionState objects on the next pass.
    func setSessions(_ states: [SessionState]) {
        let changed = sessionStates.withLock { s in defer { s = states }; return s != states }
        if changed { pull.yield() }
    }

    func set(_ d: Desired, events new: [EventNote]) {
        desired.withLock { $0 = d }
        if !new.isEmpty { events.withLock { $0 += new } }
        pull.yield()
    }

    /// An event to post on the next pass (conflicts are seen between passes).
    func add(event: EventNote) {
        events.withLock { $0.append(event) }
        pull.yield()
    }

    /// ConfigurationState `name` is written on the next pass when it changed.
    func setConfigurationState(name: String, result: String, error: String) {
        configState.withLock { $0 = (name, result, error, false) }
        pull.yield()
    }

    /// `l2-` or `bgp-` and a hash of node and Service: stable across restarts, so a restarted speaker finds its own.
    /// The hash is 11 base-36 digits (56.9 bits: two of 10,000 objects collide with odds of about 1 in 2 billion) so
    /// that a name fits in 15 bytes, which a Swift string holds without a heap allocation.
    func objectName(_ prefix: String, _ s: ServiceStatus) -> String {
        Self.objectName(prefix, node: node, namespace: s.namespace, name: s.name)
    }

    private static let base36 = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    static func objectName(_ prefix: String, node: String, namespace: String, name: String) -> String {
        let digest = SHA256.hash(data: Array("\(node)/\(namespace)/\(name)".utf8))
        var value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var digits = [UInt8](repeating: 0, count: 11)
        for i in digits.indices.reversed() {
            digits[i] = base36[Int(value % 36)]
            value /= 36
        }
        return prefix + String(decoding: digits, as: UTF8.self)
    }


    func run() async throws {
        let l2 = self.l2, bgp = self.bgp, sessions = self.sessions
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await l2.run() }
            group.addTask { await bgp.run() }
            group.addTask { await sessions.run() }
            group.addTask {
                for await _ in self.trigger {
                    await l2.waitForSync()
                    await bgp.waitForSync()
                    let want = self.desired.withLock { $0 }
                    var failed = false
                    failed = await !self.sync(.serviceL2Statuses, prefix: "l2-", kind: "ServiceL2Status", want: want.layer2, have: l2.snapshot(),
                                              status: { ["interfaces": .array($0.items.map { ["name": .string($0)] })] }) || failed
                    failed = await !self.sync(.serviceBGPStatuses, prefix: "bgp-", kind: "ServiceBGPStatus", want: want.bgp, have: bgp.snapshot(),
                                              status: { ["peers": .array($0.items.map(JSONValue.string))] }) || failed
                    // Not waited for: a cluster without the BGPSessionState CRD (an older install) must not hold the
                    // Service statuses up.
                    if sessions.hasSynced {
                        failed = await !self.syncSessions(self.sessionStates.withLock { $0 }, have: sessions.snapshot()) || failed
                    }
                    if let c = self.configState.withLock({ $0 }), !c.written {
                        do {
                            try await self.client.writeConfigurationState(namespace: self.namespace, name: c.name, component: "speaker",
                                                                          conditionType: "configReconcilerValid", result: c.result, error: c.error)
                            self.configState.withLock { s in if s?.result == c.result, s?.error == c.error { s?.written = true } }
                        } catch {
                            failed = true
                            self.logger.info("cannot write ConfigurationState; will retry", metadata: ["error": "\(error)"])
                        }
                    }
                    let notes = self.events.withLock { e in defer { e.removeAll() }; return e }
                    await withTaskGroup(of: Void.self) { group in
                        for (i, n) in notes.enumerated() {
                            if i >= Self.concurrency { await group.next() }
                            group.addTask {
                                do {
                                    try await self.client.postEvent(regarding: ObjectReference(apiVersion: n.apiVersion, kind: n.kind,
                                                                                               namespace: n.namespace, name: n.name, uid: n.uid),
                                                                    reason: n.reason, message: n.message, warning: n.warning,
                                                                    controller: "metallb-speaker", instance: self.instance)
                                    self.metrics.updates.increment()
                                } catch {
                                    self.metrics.updateErrors.increment()
                                    self.logger.info("cannot post event", metadata: ["service": "\(n.namespace)/\(n.name)", "error": "\(error)"])
                                }
                            }
                        }
                    }
                    if failed {
                        try await Task.sleep(for: .seconds(1))
                        self.pull.yield()
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    enum Write: Sendable {
        case upsert(name: String, exists: Bool, service: ServiceStatus, status: JSONValue)
        case delete(name: String)
    }

    /// Creates, updates and deletes this node's status objects of one kind, `concurrency` writes at a time (10,000
    /// Services are 20,000 requests). False when a write failed.
    private func sync(_ resource: Resource<JSONValue>, prefix: String, kind: String, want: [ServiceKey: [String]], have: [StatusStamp],
                      status: (ServiceStatus) -> [String: JSONValue]) async -> Bool {
        var existing: [String: StatusStamp] = [:]
        for o in have { existing[o.name] = o }
        var writes: [Write] = []
        var wanted = Set<String>()
        for (key, items) in want.sorted(by: { $0.key < $1.key }) {
            let s = ServiceStatus(namespace: key.namespace, name: key.name, items: items)
            let name = objectName(prefix, s)
            wanted.insert(name)
            var body = status(s)
            body["node"] = .string(node)
            body["serviceName"] = .string(s.name)
            body["serviceNamespace"] = .string(s.namespace)
            let statusValue = JSONValue.object(body)
            if let current = existing[name], current.digest == statusValue.hashValue { continue }
            writes.append(.upsert(name: name, exists: existing[name] != nil, service: s, status: statusValue))
        }
        for name in existing.keys.sorted() where !wanted.contains(name) { writes.append(.delete(name: name)) }
        guard !writes.isEmpty else { return true }
        var ok = true
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            for w in writes {
                if inFlight >= Self.concurrency, let done = await group.next() {
                    inFlight -= 1
                    ok = ok && done
                }
                group.addTask { await self.perform(w, resource: resource, kind: kind) }
                inFlight += 1
            }
            for await done in group { ok = ok && done }
        }
        return ok
    }

    static let concurrency = 32

    /// Creates, updates and deletes this node's BGPSessionState objects (one per peer; few, so one at a time).
    private func syncSessions(_ want: [SessionState], have: [StatusStamp]) async -> Bool {
        let existing = Dictionary(have.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var ok = true
        var wanted = Set<String>()
        for s in want {
            let name = Self.objectName("session-", node: node, namespace: "", name: s.peer)
            wanted.insert(name)
            var body: [String: JSONValue] = ["bgpStatus": .string(s.bgp), "bfdStatus": .string(s.bfd), "node": .string(node),
                                             "peer": .string(s.address), "vrf": ""]
            if let e = s.lastError { body["lastError"] = .string(e) }
            let status = JSONValue.object(body)
            if existing[name]?.digest == status.hashValue { continue }
            do {
                if existing[name] == nil {
                    do {
                        try await client.createOnly(.bgpSessionStates, namespace: namespace, [
                            "apiVersion": "frrk8s.metallb.io/v1beta1", "kind": "BGPSessionState",
                            "metadata": ["name": .string(name), "namespace": .string(namespace),
                                         "labels": ["frrk8s.metallb.io/node": .string(node),
                                                    "frrk8s.metallb.io/peer": .string(s.address.replacingOccurrences(of: ":", with: "-")),
                                                    "frrk8s.metallb.io/vrf": ""]],
                        ])
                    } catch where error.isAlreadyExists {}
                }
                try await client.patchOnly(.bgpSessionStates, namespace: namespace, name: name, .merge(["status": status]), subresource: "status")
                metrics.updates.increment()
            } catch {
                ok = false
                metrics.updateErrors.increment()
                logger.info("cannot write BGPSessionState; will retry", metadata: ["peer": "\(s.peer)", "error": "\(error)"])
            }
        }
        for name in existing.keys.sorted() where !wanted.contains(name) {
            do {
                try await client.delete(.bgpSessionStates, namespace: namespace, name: name)
            } catch where error.isNotFound {
            } catch {
                ok = false
                logger.info("cannot delete BGPSessionState; will retry", metadata: ["name": "\(name)", "error": "\(error)"])
            }
        }
        return ok
    }

    private func perform(_ w: Write, resource: Resource<JSONValue>, kind: String) async -> Bool {
        switch w {
        case .upsert(let name, let exists, let s, let statusValue):
            do {
                if !exists {
                    do {
                        try await client.createOnly(resource, namespace: namespace, [
                            "apiVersion": "metallb.io/v1beta1", "kind": .string(kind),
                            "metadata": ["name": .string(name), "namespace": .string(namespace),
                                         "labels": ["metallb.io/node": .string(node), "metallb.io/service-name": .string(s.name),
                                                    "metallb.io/service-namespace": .string(s.namespace)]],
                        ])
                    } catch where error.isAlreadyExists {}
                }
                try await client.patchOnly(resource, namespace: namespace, name: name, .merge(["status": statusValue]), subresource: "status")
                metrics.updates.increment()
                return true
            } catch {
                metrics.updateErrors.increment()
                logger.info("cannot write \(kind); will retry", metadata: ["service": "\(s.namespace)/\(s.name)", "error": "\(error)"])
                return false
            }
        case .delete(let name):
            do {
                try await client.delete(resource, namespace: namespace, name: name)
                metrics.updates.increment()
                return true
            } catch where error.isNotFound {
                return true
            } catch {
                metrics.updateErrors.increment()
                logger.info("cannot delete \(kind); will retry", metadata: ["name": "\(name)", "error": "\(error)"])
                return false
            }
        }
    }
}

/// What the status writer keeps of one of its status objects: the name and a hash of the status (stable within the
/// process, which is all the comparison with the wanted status needs), decoded straight from the API's JSON.
struct StatusStamp: APIObject {
    var namespace: String
    var name: String
    var resourceVersion: String?
    var digest: Int

    var objectKey: ObjectKey { ObjectKey(namespace: namespace, name: name) }
    var objectResourceVersion: String? { resourceVersion }

    /// The same collection as `resource`, read as stamps.
    static func resource(_ resource: Resource<JSONValue>) -> Resource<StatusStamp> {
        Resource(group: resource.group, version: resource.version, plural: resource.plural, namespaced: resource.namespaced)
    }

    struct Metadata: Codable {
        var name: String?
        var namespace: String?
        var resourceVersion: String?
    }

    enum CodingKeys: String, CodingKey { case metadata, status }

    init(namespace: String, name: String, resourceVersion: String?, digest: Int) {
        self.namespace = namespace
        self.name = name
        self.resourceVersion = resourceVersion
        self.digest = digest
    }

    /// The cache keeps 32 bytes of a stamp: the namespace and name come back from the cache key.
    final class Record: CachedObject {
        let resourceVersion: String?
        let digest: Int

        init(_ s: StatusStamp) {
            resourceVersion = s.resourceVersion
            digest = s.digest
        }

        func object(_ key: ObjectKey) -> StatusStamp {
            StatusStamp(namespace: key.namespace, name: key.name, resourceVersion: resourceVersion, digest: digest)
        }
    }

    static let projection = Projection<StatusStamp> { Record($0) }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let meta = try c.decodeIfPresent(Metadata.self, forKey: .metadata)
        namespace = meta?.namespace ?? ""
        name = meta?.name ?? ""
        resourceVersion = meta?.resourceVersion
        digest = (try c.decodeIfPresent(JSONValue.self, forKey: .status) ?? .null).hashValue
    }

    /// Only the metadata: a stamp is never written back.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Metadata(name: name, namespace: namespace, resourceVersion: resourceVersion), forKey: .metadata)
    }
}

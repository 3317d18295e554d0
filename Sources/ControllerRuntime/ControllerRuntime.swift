import AddressAllocator
import ConfigurationWatch
import Foundation
import KubernetesClient
import KubernetesModel
import LoadBalancerConfig
import Logging
import Synchronization

/// The controller daemon's wiring: informers (Services, Namespaces, and the metallb.io CRs or a config file) →
/// configuration → `ServiceReconciler` → writes (status and annotation patches, events, pool status,
/// ConfigurationState), with bounded concurrency.
///
/// Passes are level-triggered and coalescing: any number of changes cause one pass over the cache. A pass waits for
/// its writes; failed writes are retried by a later pass. The first pass runs only once every informer has
/// synced, so restoring existing assignments sees every Service.
public final class ControllerRuntime: Sendable {
    public struct Options: Sendable {
        /// Where the metallb.io CRs (and ConfigurationState) live.
        public var namespace = "metallb-system"
        public var loadBalancerClass: String?
        /// Read the configuration from these YAML files instead of CRs (re-read when they change).
        public var configFiles: [String] = []
        /// Identifies this replica in events (`reportingInstance`).
        public var instance = ProcessInfo.processInfo.hostName
        /// Writes in flight at once.
        public var writeConcurrency = 64
        /// The speakers' membership key Secret (key `secretkey`), created with a random key when missing, as
        /// MetalLB's controller does; nil leaves it to the operator.
        public var membershipSecretName: String? = "memberlist"

        public init() {}
    }

    /// What the runtime has done, for /readyz, logs and tests.
    public struct Status: Sendable {
        public var synced = false
        public var passes = 0
        public var writes = 0
        public var failedWrites = 0
        public var configurationStale = false
        public var lastConfigurationError: String?
    }

    let client: KubernetesClient
    let options: Options
    let logger: Logger
    let metrics: ControllerMetrics
    private let status = Mutex(Status())

    public init(client: KubernetesClient, options: Options, logger: Logger, metrics: ControllerMetrics = ControllerMetrics()) {
        self.client = client
        self.options = options
        self.logger = logger
        self.metrics = metrics
    }

    public var currentStatus: Status { status.withLock { $0 } }

    // MARK: - Run

    public func run() async throws {
        let services = Informer(client: client, resource: .services, logger: logger)
        let namespaces = Informer(client: client, resource: .namespaces, logger: logger)
        let configuration = ConfigurationSource(client: client, namespace: options.namespace, files: options.configFiles,
                                                withSecrets: false, logger: logger)
        let (trigger, pull) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await services.run() }
            group.addTask { await namespaces.run() }
            group.addTask { await configuration.run { pull.yield() } }
            for signal in [services.changes(), namespaces.changes()] {
                group.addTask { for await _ in signal { pull.yield() } }
            }
            if let secretName = options.membershipSecretName, !secretName.isEmpty {
                group.addTask { try await self.ensureMembershipSecret(secretName) }
            }
            let confirmations = PassRequest()
            group.addTask {
                // Once a second (a flag test when nothing waits): a write left unconfirmed is repeated within a
                // second of the end of its confirmation window.
                while true {
                    try await Task.sleep(for: .seconds(1))
                    if confirmations.take() { pull.yield() }
                }
            }
            group.addTask {
                try await self.loop(trigger: trigger, retry: pull, services: services, namespaces: namespaces,
                                    configuration: configuration, confirmations: confirmations)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Creates the membership Secret when missing, retrying every 5 s until the API answers; then idles until
    /// cancelled (the run's task group ends when any child returns).
    private func ensureMembershipSecret(_ name: String) async throws {
        while true {
            do {
                if try await client.ensureRandomSecret(namespace: options.namespace, name: name, key: "secretkey") {
                    logger.info("created the speakers' membership Secret", metadata: ["secret": "\(options.namespace)/\(name)"])
                }
                break
            } catch {
                logger.warning("cannot create the membership Secret; retrying in 5 s", metadata: ["secret": "\(options.namespace)/\(name)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(5))
            }
        }
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    private func loop(trigger: AsyncStream<Void>, retry: AsyncStream<Void>.Continuation, services: Informer<Service>,
                      namespaces: Informer<Namespace>, configuration: ConfigurationSource, confirmations: PassRequest) async throws {
        var reconciler = ServiceReconciler(loadBalancerClass: options.loadBalancerClass)
        defer { metrics.assigned.update([]) }
        for await _ in trigger {
            guard services.hasSynced, namespaces.hasSynced, configuration.hasSynced else { continue }
            await refreshConfiguration(configuration, into: &reconciler)
            guard configuration.current != nil else { continue }
            if status.withLock({ $0.passes == 0 }) { await seed(&reconciler, pools: configuration.snapshot(of: .ipAddressPools)) }
            var labels: [String: [String: String]] = [:]
            for ns in namespaces.snapshot() { labels[ns.metadata.name ?? ""] = ns.metadata.labels ?? [:] }
            let passStart = ContinuousClock.now
            let snapshot = services.snapshot()
            let actions = reconciler.reconcile(snapshot, namespaceLabels: labels)
            metrics.record(reconciler.allocator.statistics)
            metrics.assigned.update(reconciler.allocator.allocations)
            var uids: [ServiceKey: String] = [:]
            for s in snapshot { uids[ServiceReconciler.key(s)] = s.metadata.uid }
            let failures = await execute(actions, uids: uids, passStart: passStart)
            for failure in failures {
                switch failure {
                case .service(let key): reconciler.writeFailed(key)
                case .pool(let name): reconciler.poolStatusWriteFailed(name)
                }
            }
            if status.withLock({ $0.passes == 0 }) {
                logger.info("first pass done", metadata: ["services": "\(snapshot.count)", "writes": "\(actions.count - failures.count)"])
            }
            status.withLock { s in
                s.synced = true
                s.passes += 1
                s.writes += actions.count - failures.count
                s.failedWrites += failures.count
            }
            if !failures.isEmpty {
                try await Task.sleep(for: .seconds(1))
                retry.yield()
            } else if reconciler.awaitingConfirmation {
                // A write the watch has not shown yet: the ticker runs another pass, which repeats it once the
                // confirmation window has passed.
                confirmations.request()
            }
        }
    }

    /// The latest event this controller emitted per Service before it (re)started.
    private func previousEvents() async -> [ServiceKey: ServiceReconciler.ServiceEvent] {
        do {
            let events = try await client.list(.events, options: ListOptions(fieldSelector: "reportingController=metallb-controller"))
            var latest: [ServiceKey: (time: String, event: ServiceReconciler.ServiceEvent)] = [:]
            for e in events.items {
                guard let r = e.regarding, r.kind == "Service", let name = r.name, let reason = e.reason else { continue }
                let key = ServiceKey(namespace: r.namespace ?? "", name: name)
                let time = e.series?.lastObservedTime ?? e.eventTime ?? e.metadata.creationTimestamp ?? ""
                if let have = latest[key], have.time > time { continue }
                latest[key] = (time, .init(warning: e.type == "Warning", reason: reason, message: e.note ?? ""))
            }
            return latest.mapValues(\.event)
        } catch {
            logger.info("cannot read earlier events; some may be repeated", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// Reads the configuration again if it changed; an invalid one keeps the last good one in force.
    private func refreshConfiguration(_ source: ConfigurationSource, into reconciler: inout ServiceReconciler) async {
        let outcome = source.refresh()
        switch outcome {
        case .unchanged:
            return
        case .loaded(let loaded, let changed):
            if changed {
                reconciler.setConfiguration(loaded.configuration)
                logger.info("configuration loaded", metadata: ["pools": "\(loaded.configuration.pools.count)"])
            }
            status.withLock { $0.configurationStale = false; $0.lastConfigurationError = nil }
            metrics.configLoaded.record(1)
            metrics.configStale.record(0)
        case .rejected(let error):
            let summary = error.description
            logger.error("configuration rejected; the last good configuration stays in force", metadata: ["error": "\(summary)"])
            let stale = source.current != nil
            status.withLock { $0.configurationStale = stale; $0.lastConfigurationError = summary }
            metrics.configStale.record(1)
        }
        if let verdict = source.verdict(after: outcome) {
            await writeConfigurationState(result: verdict.result, error: verdict.error)
        }
    }

    /// Before the first pass: the events this controller posted before a restart, and the pools' last status, so
    /// that neither is written again unchanged.
    private func seed(_ reconciler: inout ServiceReconciler, pools objects: [JSONValue]) async {
        reconciler.seedEvents(await previousEvents())
        var pools: [String: ServiceReconciler.PoolStatus] = [:]
        for item in objects {
            guard let name = item["metadata"]?["name"]?.stringValue, let st = item["status"] else { continue }
            func n(_ k: String) -> Int64 { if case .int(let v)? = st[k] { return v }; return -1 }
            pools[name] = .init(assignedIPv4: n("assignedIPv4"), assignedIPv6: n("assignedIPv6"),
                                availableIPv4: n("availableIPv4"), availableIPv6: n("availableIPv6"))
        }
        reconciler.seedPoolStatus(pools)
    }

    // MARK: - Writes

    enum Failure { case service(ServiceKey), pool(String) }

    /// Carries out a pass's writes, `writeConcurrency` at a time: addresses first (what users wait for), then
    /// annotations and pool status, then events. Returns the ones that failed.
    func execute(_ unordered: [ServiceReconciler.Action], uids: [ServiceKey: String],
                 passStart: ContinuousClock.Instant = .now) async -> [Failure] {
        func rank(_ a: ServiceReconciler.Action) -> Int {
            switch a {
            case .setIngress: return 0
            case .setPoolAnnotation, .setPoolStatus: return 1
            case .event: return 2
            }
        }
        let actions = unordered.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        var failures: [Failure] = []
        await withTaskGroup(of: Failure?.self) { group in
            var inFlight = 0
            for action in actions {
                if inFlight >= options.writeConcurrency, let done = await group.next() {
                    inFlight -= 1
                    if let f = done { failures.append(f) }
                }
                group.addTask { await self.perform(action, uids: uids, passStart: passStart) }
                inFlight += 1
            }
            for await done in group { if let f = done { failures.append(f) } }
        }
        return failures
    }

    private func perform(_ action: ServiceReconciler.Action, uids: [ServiceKey: String], passStart: ContinuousClock.Instant) async -> Failure? {
        do {
            defer { metrics.updates.increment() }
            switch action {
            case .setIngress(let key, let ips):
                let ingress: JSONValue = ips.isEmpty ? .null : .array(ips.map { ["ip": .string($0)] })
                try await client.patchOnly(.services, namespace: key.namespace, name: key.name,
                                           .merge(["status": ["loadBalancer": ["ingress": ingress]]]), subresource: "status")
                logger.info(ips.isEmpty ? "cleared addresses" : "assigned addresses", metadata: ["service": "\(key)", "ips": "\(ips)"])
                if !ips.isEmpty {
                    let (seconds, attos) = (ContinuousClock.now - passStart).components
                    metrics.allocation.recordNanoseconds(seconds * 1_000_000_000 + attos / 1_000_000_000)
                }
            case .setPoolAnnotation(let key, let pool):
                try await client.patchOnly(.services, namespace: key.namespace, name: key.name,
                                           .merge(["metadata": ["annotations": [ServiceAnnotations.allocatedFromPool: pool.map(JSONValue.string) ?? .null]]]))
            case .event(let key, let event):
                try await postEvent(key, uid: uids[key], event)
            case .setPoolStatus(let name, let s):
                guard options.configFiles.isEmpty else { return nil }
                try await client.patchOnly(.ipAddressPools, namespace: options.namespace, name: name,
                                       .merge(["status": ["assignedIPv4": .int(s.assignedIPv4), "assignedIPv6": .int(s.assignedIPv6),
                                                          "availableIPv4": .int(s.availableIPv4), "availableIPv6": .int(s.availableIPv6)]]),
                                       subresource: "status")
            }
            return nil
        } catch {
            if error.isNotFound { return nil }  // deleted meanwhile; the next pass sees it gone
            metrics.updateErrors.increment()
            logger.warning("write failed; will retry", metadata: ["action": "\(action)", "error": "\(error)"])
            switch action {
            case .setIngress(let key, _), .setPoolAnnotation(let key, _): return .service(key)
            case .setPoolStatus(let name, _): return .pool(name)
            case .event: return nil
            }
        }
    }

    private func postEvent(_ key: ServiceKey, uid: String?, _ e: ServiceReconciler.ServiceEvent) async throws(KubernetesClientError) {
        try await client.postServiceEvent(namespace: key.namespace, name: key.name, uid: uid, reason: e.reason, message: e.message,
                                          warning: e.warning, controller: "metallb-controller", instance: options.instance)
    }

    /// ConfigurationState `controller`: created when absent, its status patched.
    private func writeConfigurationState(result: String, error: String) async {
        guard options.configFiles.isEmpty else { return }
        do {
            try await client.writeConfigurationState(namespace: options.namespace, name: "controller", component: "controller",
                                                     conditionType: "poolReconcilerValid", result: result, error: error)
        } catch {
            logger.warning("cannot write ConfigurationState", metadata: ["error": "\(error)"])
        }
    }


}

/// "Run another pass later": set by the loop while writes await confirmation, taken by the ticker.
final class PassRequest: Sendable {
    private let pending = Mutex(false)
    func request() { pending.withLock { $0 = true } }
    /// Whether a pass was requested since the last call.
    func take() -> Bool { pending.withLock { p in defer { p = false }; return p } }
}

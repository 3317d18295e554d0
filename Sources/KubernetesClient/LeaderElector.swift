import Foundation
import KubernetesModel
import Logging
import Synchronization

/// Lease-based leader election, as client-go's: one holder at a time per Lease; others take over once the holder
/// has not renewed for `leaseDuration` (measured on the local clock from when this candidate last saw the lease
/// change, so clock skew between nodes does not matter). Writes use the lease's resourceVersion, so two
/// candidates can never both win. A leader that cannot renew within `renewDeadline` stops leading; on a clean stop
/// it releases the lease so a standby takes over at once.
public struct LeaderElector: Sendable {
    public var client: KubernetesClient
    public var namespace: String
    public var name: String
    public var identity: String
    public var leaseDuration: Duration = .seconds(15)
    public var renewDeadline: Duration = .seconds(10)
    public var retryPeriod: Duration = .seconds(2)
    public var logger: Logger

    public init(client: KubernetesClient, namespace: String, name: String, identity: String, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.logger = logger
    }

    /// The reason leading stopped.
    public struct LostLeadership: Error, CustomStringConvertible {
        public var description: String
    }

    /// Waits to become the leader, then runs `lead` while renewing. Returns when `lead` returns (releasing the
    /// lease); throws `LostLeadership` when renewal fails for `renewDeadline` (after cancelling `lead`).
    public func run(_ lead: @escaping @Sendable () async throws -> Void) async throws {
        var observed: (record: LeaseSpec?, at: ContinuousClock.Instant)?
        // Acquire.
        while true {
            try Task.checkCancellation()
            if try await tryAcquireOrRenew(&observed) { break }
            try await Task.sleep(for: retryPeriod)
        }
        logger.info("became leader", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
        let acquired = observed
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await lead()
                return true
            }
            group.addTask {
                var lastRenew = ContinuousClock.now
                var obs = acquired
                while true {
                    try await Task.sleep(for: retryPeriod)
                    if (try? await tryAcquireOrRenew(&obs)) == true {
                        lastRenew = .now
                    } else if ContinuousClock.now - lastRenew > renewDeadline {
                        throw LostLeadership(description: "could not renew lease \(namespace)/\(name) within \(renewDeadline)")
                    }
                }
            }
            defer { group.cancelAll() }
            do {
                _ = try await group.next()
            } catch let error as LostLeadership {
                logger.error("lost leadership", metadata: ["error": "\(error)"])
                throw error
            }
        }
        await release()
    }

    /// One attempt: create the lease, renew it, or take it over when it has expired.
    func tryAcquireOrRenew(_ observed: inout (record: LeaseSpec?, at: ContinuousClock.Instant)?) async throws -> Bool {
        let now = KubeTime.micro()
        let seconds = Int(leaseDuration.components.seconds)
        guard let current = try await existingLease() else {
            let lease = Lease(metadata: ObjectMeta(name: name, namespace: namespace),
                              spec: LeaseSpec(holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now,
                                              leaseTransitions: 0))
            return try await writeLease(lease, create: true)
        }
        let spec = current.spec ?? LeaseSpec()
        if observed?.record != spec { observed = (spec, .now) }
        var next = current
        if spec.holderIdentity == identity {
            next.spec?.renewTime = now
        } else {
            let holderAlive = !(spec.holderIdentity ?? "").isEmpty
                && ContinuousClock.now - (observed?.at ?? .now) < .seconds(spec.leaseDurationSeconds ?? seconds)
            if holderAlive { return false }
            next.spec = LeaseSpec(holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now,
                                  leaseTransitions: (spec.leaseTransitions ?? 0) + 1)
        }
        return try await writeLease(next, create: false, observed: &observed)
    }

    private func existingLease() async throws -> Lease? {
        do {
            return try await client.get(.leases, namespace: namespace, name: name)
        } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// Creates or updates the lease; losing a race (AlreadyExists, Conflict) is `false`, not an error.
    private func writeLease(_ lease: Lease, create: Bool) async throws -> Bool {
        var ignored: (record: LeaseSpec?, at: ContinuousClock.Instant)?
        return try await writeLease(lease, create: create, observed: &ignored)
    }

    private func writeLease(_ lease: Lease, create: Bool, observed: inout (record: LeaseSpec?, at: ContinuousClock.Instant)?) async throws -> Bool {
        do {
            let written = create ? try await client.create(.leases, namespace: namespace, lease)
                                 : try await client.update(.leases, namespace: namespace, name: name, lease)
            observed = (written.spec, .now)
            return true
        } catch {
            if error.isAlreadyExists || error.isConflict { return false }
            throw error
        }
    }

    /// Gives the lease up (holder cleared, 1 s duration) so a standby takes over without waiting.
    public func release() async {
        do {
            var lease = try await client.get(.leases, namespace: namespace, name: name)
            guard lease.spec?.holderIdentity == identity else { return }
            lease.spec?.holderIdentity = ""
            lease.spec?.leaseDurationSeconds = 1
            lease.spec?.renewTime = KubeTime.micro()
            try await client.update(.leases, namespace: namespace, name: name, lease)
            logger.info("released leadership", metadata: ["lease": "\(namespace)/\(name)"])
        } catch {
            logger.info("could not release the lease; a standby takes over when it expires", metadata: ["error": "\(error)"])
        }
    }
}

/// Kubernetes' timestamp formats.
public enum KubeTime {
    /// MicroTime: RFC 3339 with microseconds (`eventTime`, Lease `renewTime`).
    public static func micro(_ d: Date = Date()) -> String {
        let seconds = d.timeIntervalSince1970
        let micros = Int((seconds - floor(seconds)) * 1_000_000)
        return base(Int(floor(seconds))) + "." + pad(micros, 6) + "Z"
    }

    /// Time: RFC 3339 to the second (`lastTransitionTime`).
    public static func seconds(_ d: Date = Date()) -> String { base(Int(floor(d.timeIntervalSince1970))) + "Z" }

    /// `YYYY-MM-DDTHH:MM:SS` in UTC, formatted by hand: a formatter per call cost more than the event it stamped.
    static func base(_ epoch: Int) -> String {
        var t = time_t(epoch)
        var parts = tm()
        gmtime_r(&t, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

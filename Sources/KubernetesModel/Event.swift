/// events.k8s.io/v1 Event, as Beacon emits them (`IPAllocated`, `AllocationFailed`, `nodeAssigned`, …).
public struct Event: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "events.k8s.io/v1"
    public static let kind = "Event"

    public var apiVersion: String? = Event.apiVersion
    public var kind: String? = Event.kind
    public var metadata: ObjectMeta
    /// RFC 3339 with microseconds (MicroTime).
    public var eventTime: String?
    public var series: EventSeries?
    public var reportingController: String?
    public var reportingInstance: String?
    public var action: String?
    public var reason: String?
    public var regarding: ObjectReference?
    public var related: ObjectReference?
    public var note: String?
    /// Normal or Warning.
    public var type: String?

    public init(metadata: ObjectMeta, eventTime: String?, reportingController: String, reportingInstance: String,
                action: String, reason: String, regarding: ObjectReference, note: String, type: String) {
        self.metadata = metadata
        self.eventTime = eventTime
        self.reportingController = reportingController
        self.reportingInstance = reportingInstance
        self.action = action
        self.reason = reason
        self.regarding = regarding
        self.note = note
        self.type = type
    }
}

public struct EventSeries: Hashable, Sendable, Codable {
    public var count: Int
    public var lastObservedTime: String
}

/// core/v1 ObjectReference: what an Event is about.
public struct ObjectReference: Hashable, Sendable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?
    public var fieldPath: String?

    public init(apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil, uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

/// coordination.k8s.io/v1 Lease: controller leader election.
public struct Lease: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "coordination.k8s.io/v1"
    public static let kind = "Lease"

    public var apiVersion: String? = Lease.apiVersion
    public var kind: String? = Lease.kind
    public var metadata: ObjectMeta
    public var spec: LeaseSpec?

    public init(metadata: ObjectMeta, spec: LeaseSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct LeaseSpec: Hashable, Sendable, Codable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int?
    /// MicroTime.
    public var acquireTime: String?
    public var renewTime: String?
    public var leaseTransitions: Int?

    public init(holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: String? = nil,
                renewTime: String? = nil, leaseTransitions: Int? = nil) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }
}

import Foundation
import KubernetesModel
import Logging
import Synchronization

/// What an informer needs of an object: its namespace/name and its resourceVersion.
public protocol APIObject: Codable, Sendable, Hashable {
    var objectKey: ObjectKey { get }
    var objectResourceVersion: String? { get }
}

/// `namespace/name` (namespace empty for cluster-scoped objects).
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String?, name: String) {
        self.namespace = namespace ?? ""
        self.name = name
    }

    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
    public static func < (l: ObjectKey, r: ObjectKey) -> Bool { (l.namespace, l.name) < (r.namespace, r.name) }
}

extension KubernetesObject {
    public var objectKey: ObjectKey { ObjectKey(namespace: metadata.namespace, name: metadata.name ?? "") }
    public var objectResourceVersion: String? { metadata.resourceVersion }
}

extension Service: APIObject {}
extension Node: APIObject {}
extension Namespace: APIObject {}
extension Secret: APIObject {}
extension Pod: APIObject {}
extension EndpointSlice: APIObject {}
extension Event: APIObject {}
extension Lease: APIObject {}

extension JSONValue: APIObject {
    public var objectKey: ObjectKey {
        ObjectKey(namespace: self["metadata"]?["namespace"]?.stringValue, name: self["metadata"]?["name"]?.stringValue ?? "")
    }
    public var objectResourceVersion: String? { self["metadata"]?["resourceVersion"]?.stringValue }
}

/// How a cache holds one object. `WholeObject` keeps it as it came; a reader that needs a few fields stores a
/// compact record of its own that rebuilds the object (with only those fields) when read. This is client-go's
/// transform without the inline cost of every empty field: a Service struct is about 400 bytes however few of its
/// fields are set, and a cache of 10,000 of them is most of a speaker's heap.
public protocol CachedObject<Object>: AnyObject, Sendable {
    associatedtype Object: APIObject
    /// The object as the cache's readers see it. `key` is the cache's key for it (its namespace and name), so a
    /// record need not keep them a second time.
    func object(_ key: ObjectKey) -> Object
}

/// The whole object, on the heap: the table then holds a reference, not the struct (a hash table keeps up to twice
/// as many slots as entries).
public final class WholeObject<Object: APIObject>: CachedObject {
    public let whole: Object
    public init(_ object: Object) { whole = object }
    public func object(_ key: ObjectKey) -> Object { whole }
}

/// How an informer's cache keeps its objects: one kind of record, made from each object and read back with its key.
/// The cache holds plain references (8 bytes a slot, not the 16 of a protocol existential); the record type is fixed
/// here, so reading one back needs no dynamic cast.
public struct Projection<Object: APIObject>: Sendable {
    let make: @Sendable (Object) -> any AnyObject & Sendable
    let read: @Sendable (any AnyObject & Sendable, ObjectKey) -> Object

    public init<Record: CachedObject>(_ make: @escaping @Sendable (Object) -> Record) where Record.Object == Object {
        self.make = make
        read = { record, key in unsafeDowncast(record, to: Record.self).object(key) }
    }

    /// Each object kept as it came.
    public static var whole: Self { Projection { WholeObject($0) } }
}

/// A change an informer delivers. After a relist only real differences are delivered, never the unchanged rest.
public enum InformerEvent<Object: APIObject>: Sendable, Hashable {
    case added(Object)
    case updated(old: Object, new: Object)
    case deleted(Object)

    public var object: Object {
        switch self {
        case .added(let o), .deleted(let o), .updated(_, let o): return o
        }
    }
}

/// List, then watch from the list's resourceVersion, forever: a local cache of one kind that the runtimes read,
/// change events, and a level-triggered "something changed" signal.
///
/// Recovery: a watch that ends (server timeout, restart) resumes from the last resourceVersion seen (bookmarks
/// included); `410 Gone` relists and delivers only the differences from the cache; transport errors back off
/// exponentially with jitter (0.25 s doubling to 30 s, reset after a healthy watch).
public final class Informer<Object: APIObject>: Sendable {
    struct State {
        var cache = RecordTable()
        var resourceVersion: String?
        var synced = false
        var subscribers: [Int: AsyncStream<InformerEvent<Object>>.Continuation] = [:]
        var signals: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextID = 0
        var relists = 0
        var lastError: String?
    }

    public let resource: Resource<Object>
    public let namespace: String?
    public let options: ListOptions
    private let client: KubernetesClient
    private let logger: Logger
    private let state = Mutex(State())
    /// Objects per list page when the caller sets no `limit` (client-go's reflector).
    public static var defaultPageSize: Int { 500 }
    /// Server-side watch timeout; client-go picks 5–10 minutes at random so that watches do not expire together.
    let watchTimeout: ClosedRange<Int>
    /// Makes the cache's record of an object (client-go's transform): keep only the fields the reader needs, so a
    /// cache of 10,000 Services costs what those fields cost. The record must keep the resourceVersion; the namespace and
    /// name come back from the cache key.
    let projection: Projection<Object>

    public init(client: KubernetesClient, resource: Resource<Object>, namespace: String? = nil, options: ListOptions = ListOptions(),
                watchTimeout: ClosedRange<Int> = 300...600, logger: Logger = Logger(label: "beacon.informer"),
                store projection: Projection<Object> = .whole) {
        self.projection = projection
        self.client = client
        self.resource = resource
        self.namespace = namespace
        var options = options
        // client-go's reflector lists in pages of 500: each answer stays small whatever the cluster's size.
        if options.limit == nil { options.limit = Self.defaultPageSize }
        self.options = options
        self.watchTimeout = watchTimeout
        var l = logger
        l[metadataKey: "resource"] = "\(resource)"
        self.logger = l
    }

    // MARK: - Reading

    /// Every cached object, in namespace/name order.
    public func snapshot() -> [Object] {
        state.withLock { s in s.cache.sorted { $0.key < $1.key }.map { projection.read($0.record, $0.key) } }
    }

    public func object(_ key: ObjectKey) -> Object? { state.withLock { $0.cache[key].map { projection.read($0, key) } } }

    public var count: Int { state.withLock { $0.cache.count } }

    /// True once the first list has been loaded into the cache.
    public var hasSynced: Bool { state.withLock { $0.synced } }
    /// The last list or watch failure (retried with backoff), for status and tests.
    public var lastError: String? { state.withLock { $0.lastError } }

    /// The resourceVersion the cache reflects.
    public var resourceVersion: String? { state.withLock { $0.resourceVersion } }

    /// How many times the informer has (re)listed.
    public var listCount: Int { state.withLock { $0.relists } }

    /// Every change from now on (and, for a subscriber that joins after the sync, nothing from before: read
    /// `snapshot()` first).
    public func events() -> AsyncStream<InformerEvent<Object>> {
        let (stream, continuation) = AsyncStream<InformerEvent<Object>>.makeStream()
        let id = state.withLock { s in
            s.nextID += 1
            s.subscribers[s.nextID] = continuation
            return s.nextID
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    /// A coalescing signal: one element after any number of changes (level-triggered; read the cache).
    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { s in
            s.nextID += 1
            s.signals[s.nextID] = continuation
            // Level-triggered: a subscriber that arrives after the first sync starts with one signal.
            if s.synced { continuation.yield() }
            return s.nextID
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.signals.removeValue(forKey: id) } }
        return stream
    }

    /// Waits until the first list is in the cache (or the task is cancelled).
    public func waitForSync() async {
        let signal = changes()
        if hasSynced { return }
        for await _ in signal where hasSynced { return }
    }

    // MARK: - Running

    /// Lists and watches until the task is cancelled.
    public func run() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                if state.withLock({ $0.resourceVersion == nil }) { try await relist() }
                let rv = state.withLock { $0.resourceVersion }
                let timeout = Int.random(in: watchTimeout)
                var healthy = false
                for try await change in client.watch(resource, namespace: namespace, resourceVersion: rv, options: options,
                                                     timeoutSeconds: timeout) {
                    apply(change)
                    if !healthy { healthy = true; backoff.reset() }
                }
                // The server closed the watch (timeout): resume from the last resourceVersion.
                if !healthy { try await Task.sleep(for: backoff.next()) }
            } catch let error as KubernetesClientError where error.isGone {
                logger.info("watch expired; relisting", metadata: ["error": "\(error)"])
                state.withLock { $0.resourceVersion = nil }
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                let delay = backoff.next()
                state.withLock { $0.lastError = "\(error)" }
                logger.info("watch failed; retrying", metadata: ["error": "\(error)", "retry.seconds": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
        // Finished outside the lock: finishing runs the streams' onTermination, which takes the lock.
        let (subscribers, signals) = state.withLock { s in
            defer { s.subscribers = [:]; s.signals = [:] }
            return (Array(s.subscribers.values), Array(s.signals.values))
        }
        subscribers.forEach { $0.finish() }
        signals.forEach { $0.finish() }
    }

    /// Lists everything and replaces the cache, delivering only the differences.
    func relist() async throws {
        let list = try await client.list(resource, namespace: namespace, options: options)
        var fresh = RecordTable(minimumCapacity: list.items.count)
        for item in list.items { fresh[item.objectKey] = projection.make(item) }
        state.withLock { s in
            var events: [InformerEvent<Object>] = []
            for (key, entry) in fresh {
                let new = projection.read(entry, key)
                if let old = s.cache[key].map({ projection.read($0, key) }) {
                    if old.objectResourceVersion != new.objectResourceVersion || old != new { events.append(.updated(old: old, new: new)) }
                } else {
                    events.append(.added(new))
                }
            }
            for (key, old) in s.cache where fresh[key] == nil { events.append(.deleted(projection.read(old, key))) }
            let firstSync = !s.synced
            s.cache = fresh
            s.resourceVersion = list.metadata.resourceVersion
            s.synced = true
            s.relists += 1
            deliver(events, &s, firstSync: firstSync)
        }
    }

    func apply(_ received: WatchChange<Object>) {
        let change: CacheChange
        switch received {
        case .added(let o), .modified(let o):
            let entry = projection.make(o)
            change = .put(entry, projection.read(entry, o.objectKey))
        case .deleted(let o): change = .delete(o)
        case .bookmark(let rv): change = .bookmark(rv)
        }
        state.withLock { s in
            var events: [InformerEvent<Object>] = []
            switch change {
            case .bookmark(let rv):
                if !rv.isEmpty { s.resourceVersion = rv }
            case .put(let entry, let o):
                let key = o.objectKey
                if let old = s.cache[key].map({ projection.read($0, key) }) {
                    // A replayed event (same resourceVersion) is not a change.
                    if old.objectResourceVersion != o.objectResourceVersion { events.append(.updated(old: old, new: o)) }
                } else {
                    events.append(.added(o))
                }
                s.cache[key] = entry
                if let rv = o.objectResourceVersion { s.resourceVersion = rv }
            case .delete(let o):
                if let old = s.cache.removeValue(forKey: o.objectKey).map({ projection.read($0, o.objectKey) }) { events.append(.deleted(old)) }
                if let rv = o.objectResourceVersion { s.resourceVersion = rv }
            }
            deliver(events, &s)
        }
    }

    /// A watch change with its cache record and the object as readers will see it, both made outside the lock.
    enum CacheChange { case put(any AnyObject & Sendable, Object), delete(Object), bookmark(String) }

    /// Delivers events, and signals "something changed" when there are any, or when the cache has just synced for
    /// the first time (an empty list is news too). Not on bookmarks or replays: a signal costs the reader a pass, and
    /// with 10,000 objects a pass every bookmark interval per informer kept a speaker busy while nothing changed.
    private func deliver(_ events: [InformerEvent<Object>], _ s: inout State, firstSync: Bool = false) {
        guard !events.isEmpty || !s.signals.isEmpty else { return }
        for e in events { for c in s.subscribers.values { c.yield(e) } }
        if !events.isEmpty || firstSync { for c in s.signals.values { c.yield() } }
    }
}

/// Jittered exponential backoff: 0.25 s doubling to 30 s, each delay drawn from [d/2, d].
struct Backoff {
    var current: Double = 0.25
    let maximum: Double = 30

    mutating func next() -> Duration {
        let d = current
        current = min(current * 2, maximum)
        return .milliseconds(Int(Double.random(in: d / 2...d) * 1000))
    }

    mutating func reset() { current = 0.25 }
}

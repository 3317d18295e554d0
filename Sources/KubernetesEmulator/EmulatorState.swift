import Foundation
import KubernetesModel
import Synchronization

/// The emulator's shared state: the `ObjectStore` behind a lock, the open watches, and (with a data directory)
/// a write-ahead log so that objects survive a restart, including `kill -9`.
///
/// Ordering: a watch is registered under the same lock that commits writes, and every write fans its changes out
/// before the lock is released, so each watcher sees every change exactly once, in resourceVersion order.
public final class EmulatorState: Sendable {
    /// A watch: what it selects and where its events go.
    struct Watcher {
        var type: ResourceType
        var namespace: String?
        var labels: LabelSelector?
        var fields: FieldSelector?
        var continuation: AsyncStream<ObjectStore.Change>.Continuation
    }

    struct Locked {
        var store: ObjectStore
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var log: FileHandle?
    }

    private let locked: Mutex<Locked>
    /// Serialized objects by uid and resourceVersion: lists of thousands of objects are mostly unchanged between
    /// requests, so they are concatenated from here instead of serialized again.
    private let serialized = Mutex<[String: [UInt8]]>([:])
    let dataDirectory: URL?

    /// Opens the state, replaying `dataDirectory` (snapshot plus log) when one is given.
    public init(store: ObjectStore, dataDirectory: URL? = nil) throws {
        var store = store
        var log: FileHandle?
        self.dataDirectory = dataDirectory
        if let dir = dataDirectory {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let (saved, rv) = try Self.load(dir)
            if rv > 0 { store.restore(saved, resourceVersion: rv) }
            // Compact: a fresh snapshot, an empty log.
            try Self.writeSnapshot(store, to: dir)
            let logURL = dir.appendingPathComponent("log.jsonl")
            FileManager.default.createFile(atPath: logURL.path, contents: nil)
            log = try FileHandle(forWritingTo: logURL)
        }
        locked = Mutex(Locked(store: store, log: log))
    }

    // MARK: - Reads and writes

    /// Runs a read under the lock.
    public func read<T>(_ body: (ObjectStore) throws(Status) -> T) throws(Status) -> T {
        try locked.withLock { (l: inout Locked) throws(Status) -> T in try body(l.store) }
    }

    /// Runs a read that cannot fail under the lock.
    public func inspect<T>(_ body: (ObjectStore) -> T) -> T {
        locked.withLock { body($0.store) }
    }

    /// Runs a write; its changes reach the watchers and the log before the lock is released.
    public func write<T>(_ body: (inout ObjectStore) throws(Status) -> T) throws(Status) -> T {
        try locked.withLock { (l: inout Locked) throws(Status) -> T in
            let before = l.store.resourceVersion
            let result = try body(&l.store)
            if l.store.resourceVersion != before {
                let changes = l.store.changes(after: before)
                for change in changes {
                    for w in l.watchers.values {
                        if let c = ObjectStore.filter(change, w.type, namespace: w.namespace, labels: w.labels, fields: w.fields) {
                            w.continuation.yield(c)
                        }
                    }
                }
                if let log = l.log { Self.append(changes, to: log) }
            }
            return result
        }
    }

    /// Opens a watch: the changes after `since` (or, with `since == nil`, every current object as ADDED), then every
    /// later change. Throws 410 Gone when `since` is older than the retained history.
    func watch(_ type: ResourceType, namespace: String?, since: Int64?, labels: LabelSelector?,
               fields: FieldSelector?) throws(Status) -> (events: AsyncStream<ObjectStore.Change>, id: Int) {
        let (stream, continuation) = AsyncStream<ObjectStore.Change>.makeStream()
        let id = try locked.withLock { (l: inout Locked) throws(Status) -> Int in
            if let since {
                for c in try l.store.changes(type, namespace: namespace, since: since, labels: labels, fields: fields) {
                    continuation.yield(c)
                }
            } else {
                let (items, rv) = l.store.list(type, namespace: namespace, labels: labels, fields: fields)
                for item in items {
                    continuation.yield(ObjectStore.Change(type: .added, resource: type.key, namespace: ObjectStore.namespace(of: item),
                                                          object: item, previous: nil, resourceVersion: rv))
                }
            }
            let id = l.nextWatcher
            l.nextWatcher += 1
            l.watchers[id] = Watcher(type: type, namespace: namespace, labels: labels, fields: fields, continuation: continuation)
            return id
        }
        return (stream, id)
    }

    /// Sends a BOOKMARK with the current resourceVersion, in order with the watch's other events.
    func bookmark(_ id: Int) {
        locked.withLock { l in
            guard let w = l.watchers[id] else { return }
            w.continuation.yield(ObjectStore.Change(type: .bookmark, resource: w.type.key, namespace: nil, object: .null,
                                                    previous: nil, resourceVersion: l.store.resourceVersion))
        }
    }

    func endWatch(_ id: Int) {
        let w = locked.withLock { $0.watchers.removeValue(forKey: id) }
        w?.continuation.finish()
    }

    /// Ends every open watch (server shutdown).
    func endAllWatches() {
        let all = locked.withLock { l in
            let all = l.watchers
            l.watchers = [:]
            return all
        }
        for w in all.values { w.continuation.finish() }
    }

    /// The object's JSON text, from the cache when this version was serialized before.
    func serializedObject(_ object: JSONValue) -> [UInt8] {
        guard let uid = object["metadata"]?["uid"]?.stringValue, let rv = object["metadata"]?["resourceVersion"]?.stringValue else {
            return JSONText.serialize(object)
        }
        let key = uid + "@" + rv
        if let hit = serialized.withLock({ $0[key] }) { return hit }
        let bytes = JSONText.serialize(object)
        serialized.withLock { cache in
            // Old versions are never asked for again; start over rather than track them.
            if cache.count > 200_000 { cache.removeAll(keepingCapacity: true) }
            cache[key] = bytes
        }
        return bytes
    }

    public var resourceVersion: Int64 { locked.withLock { $0.store.resourceVersion } }
    public var watcherCount: Int { locked.withLock { $0.watchers.count } }

    // MARK: - Persistence

    private static func append(_ changes: [ObjectStore.Change], to log: FileHandle) {
        var out: [UInt8] = []
        for c in changes {
            let record: JSONValue = .object([
                "op": .string(c.type == .deleted ? "delete" : "put"),
                "group": .string(c.resource.group), "plural": .string(c.resource.plural),
                "rv": .int(c.resourceVersion), "object": c.object,
            ])
            JSONText.write(record, into: &out)
            out.append(0x0A)
        }
        // A failed log write must not take the API down; the snapshot at the next start still holds what came before.
        try? log.write(contentsOf: out)
    }

    private static func writeSnapshot(_ store: ObjectStore, to dir: URL) throws {
        var items: [JSONValue] = []
        for (key, objects) in store.allObjects {
            for o in objects {
                items.append(.object(["group": .string(key.group), "plural": .string(key.plural), "object": o]))
            }
        }
        let snapshot: JSONValue = .object(["resourceVersion": .int(store.resourceVersion), "objects": .array(items)])
        let tmp = dir.appendingPathComponent("snapshot.json.tmp")
        try Data(JSONText.serialize(snapshot)).write(to: tmp)
        guard rename(tmp.path, dir.appendingPathComponent("snapshot.json").path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tmp.path])
        }
    }

    private static func load(_ dir: URL) throws -> ([ResourceType.Key: [JSONValue]], Int64) {
        var byKey: [ResourceType.Key: [String: JSONValue]] = [:]
        var rv: Int64 = 0
        func id(_ o: JSONValue) -> String {
            "\(o["metadata"]?["namespace"]?.stringValue ?? "")/\(o["metadata"]?["name"]?.stringValue ?? "")"
        }
        let snapshotURL = dir.appendingPathComponent("snapshot.json")
        if let data = FileManager.default.contents(atPath: snapshotURL.path) {
            let snapshot = try JSONText.parse(data)
            if case .int(let v)? = snapshot["resourceVersion"] { rv = v }
            if case .array(let items)? = snapshot["objects"] {
                for item in items {
                    guard let g = item["group"]?.stringValue, let p = item["plural"]?.stringValue, let o = item["object"] else { continue }
                    byKey[ResourceType.Key(group: g, plural: p), default: [:]][id(o)] = o
                }
            }
        }
        if let data = FileManager.default.contents(atPath: dir.appendingPathComponent("log.jsonl").path) {
            for line in data.split(separator: 0x0A) {
                // A torn last line (the process was killed mid-write) is skipped.
                guard let record = try? JSONText.parse(line), let g = record["group"]?.stringValue,
                      let p = record["plural"]?.stringValue, let o = record["object"] else { continue }
                let key = ResourceType.Key(group: g, plural: p)
                if record["op"]?.stringValue == "delete" { byKey[key]?[id(o)] = nil } else { byKey[key, default: [:]][id(o)] = o }
                if case .int(let v)? = record["rv"] { rv = max(rv, v) }
            }
        }
        return (byKey.mapValues { Array($0.values) }, rv)
    }
}

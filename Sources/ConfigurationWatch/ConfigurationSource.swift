import Foundation
import KubernetesClient
import KubernetesModel
import LoadBalancerConfig
import Logging
import Synchronization

/// Where a daemon's configuration comes from, and what is in force: the metallb.io objects of one namespace (with
/// its Secrets, for BGPPeer passwords) or YAML files named on the command line, polled once a second.
///
/// Both daemons use it the same way: `run(onChange:)` keeps the inputs current and calls back on any change, and each
/// pass calls `refresh()`, which reads the inputs again only when they changed. The configuration is all or nothing:
/// a rejected one leaves the last good one in force, and the ConfigurationState to write changes only when the
/// verdict does.
public final class ConfigurationSource: Sendable {
    /// What `refresh()` found.
    public enum Outcome: Sendable {
        /// The inputs did not change since the last refresh.
        case unchanged
        /// A valid configuration, now in force. `changed` is false when it equals the one already in force.
        case loaded(LoadedConfiguration, changed: Bool)
        /// Refused; the last good configuration (if any) stays in force.
        case rejected(ConfigurationError)
    }

    /// A ConfigurationState's content: `Valid` with no error, or `Invalid` with the summary.
    public struct Verdict: Hashable, Sendable {
        public var result: String
        public var error: String
        public init(result: String, error: String) {
            self.result = result
            self.error = error
        }
    }

    public let namespace: String
    public let files: [String]
    /// The metallb.io informers, none when reading files.
    public let objects: [Informer<JSONValue>]
    private let secrets: Informer<Secret>?
    private let state = Mutex(State())

    private struct State {
        var stamp: [String?]?
        var current: Configuration?
        var verdict: Verdict?
    }

    /// `withSecrets`: also watch the namespace's Secrets, so BGPPeer `passwordSecret` references resolve (and a
    /// missing one is an error). The speaker needs them; the controller, which never opens a session, does not.
    public init(client: KubernetesClient, namespace: String, files: [String], withSecrets: Bool, logger: Logger) {
        self.namespace = namespace
        self.files = files
        objects = files.isEmpty
            ? Resource<JSONValue>.metallbConfiguration.map { Informer(client: client, resource: $0, namespace: namespace, logger: logger) }
            : []
        secrets = files.isEmpty && withSecrets ? Informer(client: client, resource: .secrets, namespace: namespace, logger: logger) : nil
    }

    /// Keeps the inputs current (informers, or a poll of the files' size and time each second) and calls `onChange`
    /// after every change. Runs until cancelled.
    public func run(onChange: @escaping @Sendable () -> Void) async {
        await withDiscardingTaskGroup { group in
            for informer in objects {
                group.addTask { await informer.run() }
                let changes = informer.changes()
                group.addTask { for await _ in changes { onChange() } }
            }
            if let secrets {
                group.addTask { await secrets.run() }
                let changes = secrets.changes()
                group.addTask { for await _ in changes { onChange() } }
            }
            if !files.isEmpty {
                group.addTask {
                    var last = ""
                    while !Task.isCancelled {
                        let stamp = Self.fileStamp(self.files)
                        if stamp != last { last = stamp; onChange() }
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
        }
    }

    /// True once every informer has its first list (always, for files).
    public var hasSynced: Bool { objects.allSatisfy(\.hasSynced) && (secrets?.hasSynced ?? true) }

    /// The configuration in force: the last valid one.
    public var current: Configuration? { state.withLock { $0.current } }

    /// The objects of one metallb.io kind as the API shows them (with their status), none when reading files.
    public func snapshot(of resource: Resource<JSONValue>) -> [JSONValue] {
        objects.first { $0.resource == resource }?.snapshot() ?? []
    }

    /// Reads the inputs again if they changed since the last call (always on the first call).
    public func refresh() -> Outcome {
        let stamp = files.isEmpty ? objects.map(\.resourceVersion) + [secrets?.resourceVersion] : [Self.fileStamp(files)]
        let changed = state.withLock { s in
            defer { s.stamp = stamp }
            return s.stamp != stamp
        }
        guard changed else { return .unchanged }
        switch load() {
        case .success(let loaded):
            let changed = state.withLock { s in
                defer { s.current = loaded.configuration }
                return s.current != loaded.configuration
            }
            return .loaded(loaded, changed: changed)
        case .failure(let error):
            return .rejected(error)
        }
    }

    /// The ConfigurationState to write after `outcome`, or nil when the last one written still says it (a repeated
    /// rejection with the same message, an unchanged input).
    public func verdict(after outcome: Outcome) -> Verdict? {
        let verdict: Verdict
        switch outcome {
        case .unchanged: return nil
        case .loaded: verdict = Verdict(result: "Valid", error: "")
        case .rejected(let e): verdict = Verdict(result: "Invalid", error: e.description)
        }
        return state.withLock { s in
            guard s.verdict != verdict else { return nil }
            s.verdict = verdict
            return verdict
        }
    }

    func load() -> Result<LoadedConfiguration, ConfigurationError> {
        let loader = ConfigurationLoader()
        if files.isEmpty {
            var objects = objects.flatMap { $0.snapshot() }
            for s in secrets?.snapshot() ?? [] { objects.append(Self.object(s)) }
            do { return .success(try loader.load(objects: objects, source: "metallb.io objects in \(namespace)")) } catch {
                return .failure(error)
            }
        }
        var sources: [ConfigSource] = []
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failure(ConfigurationError(errors: [ConfigIssue(.error, object: nil, field: "", "cannot read configuration file \(path)")]))
            }
            sources.append(ConfigSource(name: path, text: String(decoding: data, as: UTF8.self)))
        }
        do { return .success(try loader.load(sources)) } catch { return .failure(error) }
    }

    /// A Secret as the loader reads it.
    static func object(_ s: Secret) -> JSONValue {
        var data: [String: JSONValue] = [:]
        for (k, v) in s.data ?? [:] { data[k] = .string(v) }
        return ["apiVersion": "v1", "kind": "Secret", "type": .string(s.type ?? "Opaque"),
                "metadata": ["name": .string(s.metadata.name ?? ""), "namespace": .string(s.metadata.namespace ?? "")],
                "data": .object(data)]
    }

    /// The files' identities, sizes and modification times to the nanosecond: a change means the configuration
    /// must be read again (an edit of the same size within a second, a ConfigMap's atomic swap).
    static func fileStamp(_ files: [String]) -> String {
        files.map { f in
            guard let a = try? FileManager.default.attributesOfItem(atPath: f) else { return "-" }
            let time = (a[.modificationDate] as? Date)?.timeIntervalSince1970.bitPattern ?? 0
            return "\(a[.systemFileNumber] ?? "-")/\(a[.size] ?? "-")/\(time)"
        }.joined(separator: ",")
    }
}

import Foundation
import KubernetesModel
import Synchronization
import TestSupport
import Testing
@testable import KubernetesClient
@testable import KubernetesEmulator

/// Collects an informer's events from a child task.
final class EventLog<T: APIObject>: Sendable {
    let events = Mutex<[InformerEvent<T>]>([])
    var all: [InformerEvent<T>] { events.withLock { $0 } }
    func names() -> [String] {
        all.map { e in
            switch e {
            case .added(let o): return "added \(o.objectKey)"
            case .updated(_, let o): return "updated \(o.objectKey)"
            case .deleted(let o): return "deleted \(o.objectKey)"
            }
        }
    }
}

@Suite("Watches and informers", .dedicatedThreads)
struct InformerTests {
    /// A watch from a list's resourceVersion sees exactly the later changes, in order; an expired one is 410.
    @Test("watch resumes from a resourceVersion; an expired one is 410 Gone")
    func watchResume() async throws {
        let emu = try EmulatorFixture(historyLimit: 5)
        try await emu.serve { _ in
            try await emu.withClient { client in
                try await client.create(.services, namespace: "default", service("a"))
                let rv = try await client.list(.services).metadata.resourceVersion
                try await client.create(.services, namespace: "default", service("b"))
                try await client.patch(.services, namespace: "default", name: "a", .merge(["metadata": ["labels": ["x": "1"]]]))
                try await client.delete(.services, namespace: "default", name: "b")
                var seen: [String] = []
                for try await change in client.watch(.services, resourceVersion: rv, timeoutSeconds: 1, bookmarks: false) {
                    switch change {
                    case .added(let s): seen.append("ADDED \(s.metadata.name ?? "")")
                    case .modified(let s): seen.append("MODIFIED \(s.metadata.name ?? "")")
                    case .deleted(let s): seen.append("DELETED \(s.metadata.name ?? "")")
                    case .bookmark: break
                    }
                }
                #expect(seen == ["ADDED b", "MODIFIED a", "DELETED b"])
                for i in 0..<10 { try await client.create(.services, namespace: "default", service("n\(i)")) }
                do {
                    for try await _ in client.watch(.services, resourceVersion: rv, timeoutSeconds: 1) {}
                    Issue.record("a watch from an expired resourceVersion must fail")
                } catch let error as KubernetesClientError {
                    #expect(error.isGone)
                    #expect(error.code == 410)
                }
            }
        }
    }

    /// Bookmarks arrive when asked for and carry the current resourceVersion.
    @Test("bookmarks carry the current resourceVersion")
    func bookmarks() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve(bookmarkInterval: .milliseconds(100)) { _ in
            try await emu.withClient { client in
                try await client.create(.services, namespace: "default", service("a"))
                let rv = try await client.list(.services).metadata.resourceVersion
                var bookmark: String?
                for try await change in client.watch(.services, resourceVersion: rv, timeoutSeconds: 1) {
                    if case .bookmark(let v) = change { bookmark = v; break }
                }
                #expect(bookmark == rv)
            }
        }
    }

    /// 20 concurrent watchers each see all 200 changes, in resourceVersion order.
    @Test("20 concurrent watchers see every event in order, as streams of one HTTP/2 connection")
    func concurrentWatchers() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { server in
            try await emu.withClient { client in
                let rv = try await client.list(.services).metadata.resourceVersion
                try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            var rvs: [Int64] = []
                            for try await change in client.watch(.services, resourceVersion: rv, timeoutSeconds: 120, bookmarks: false) {
                                if case .added(let s) = change, let v = s.metadata.resourceVersion.flatMap(Int64.init) { rvs.append(v) }
                                if rvs.count == 200 { break }
                            }
                            return rvs
                        }
                    }
                    for i in 0..<200 { try await client.create(.services, namespace: "default", service("s\(i)")) }
                    var results = 0
                    for try await rvs in group {
                        #expect(rvs.count == 200)
                        #expect(rvs == rvs.sorted())
                        results += 1
                    }
                    #expect(results == 20)
                }
                // Over HTTP/1.1 each watch would have held a connection of its own.
                #expect(server.openConnections == 1)
            }
        }
    }

    /// The informer's cache follows creates, updates and deletes; its change signal coalesces.
    @Test("informer cache follows changes and delivers each once")
    func informerFollows() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                try await client.create(.services, namespace: "default", service("pre"))
                let informer = Informer(client: client, resource: .services)
                let log = EventLog<Service>()
                let events = informer.events()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await informer.run() }
                    group.addTask { for await e in events { log.events.withLock { $0.append(e) } } }
                    await informer.waitForSync()
                    #expect(informer.snapshot().map(\.metadata.name) == ["pre"])
                    try await client.create(.services, namespace: "default", service("a"))
                    try await client.patch(.services, namespace: "default", name: "a", .merge(["metadata": ["labels": ["x": "1"]]]))
                    try await client.delete(.services, namespace: "default", name: "pre")
                    #expect(await eventually { log.all.count == 4 })
                    #expect(log.names() == ["added default/pre", "added default/a", "updated default/a", "deleted default/pre"])
                    #expect(informer.object(ObjectKey(namespace: "default", name: "a"))?.metadata.labels == ["x": "1"])
                    group.cancelAll()
                }
            }
        }
    }

    /// The server restarts mid-watch (history lost) while objects change: the informer relists and delivers only the
    /// differences — no duplicate events for the objects that did not change.
    @Test("server restart mid-watch: the informer recovers and delivers only differences")
    func restartMidWatch() async throws {
        let emu = try EmulatorFixture()
        var config = emu.clientConfiguration()
        config.requestTimeout = .seconds(5)
        let log = EventLog<Service>()
        try await emu.serve { _ in
            try await emu.withClient { client in
                for i in 0..<5 { try await client.create(.services, namespace: "default", service("s\(i)")) }
            }
        }
        let client = try KubernetesClient(configuration: emu.clientConfiguration())
        let informer = Informer(client: client, resource: .services)
        let events = informer.events()
        defer { withExtendedLifetime(client) {} }
        do {
            try await restartScenario(emu, client, informer, events, log)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    func restartScenario(_ emu: EmulatorFixture, _ client: KubernetesClient, _ informer: Informer<Service>,
                         _ events: AsyncStream<InformerEvent<Service>>, _ log: EventLog<Service>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await informer.run() }
            group.addTask { for await e in events { log.events.withLock { $0.append(e) } } }
            try await emu.serve { _ in
                await informer.waitForSync()
                #expect(informer.count == 5)
            }
            // Offline change while the server is down: one update, one delete, one create.
            let state = try emu.makeState()
            let services = try #require(ResourceType.catalog.first { $0.plural == "services" })
            try state.write { s throws(Status) in
                try s.patch(services, namespace: "default", name: "s1", .merge(["metadata": ["labels": ["changed": "yes"]]]))
                try s.delete(services, namespace: "default", name: "s2")
                try s.create(services, namespace: "default", ["metadata": ["name": "s9"], "spec": ["ports": [["port": 80]]]])
            }
            try await emu.serve { _ in
                #expect(await eventually(15) { log.all.count == 8 })
                #expect(informer.count == 5)
                #expect(informer.object(ObjectKey(namespace: "default", name: "s1"))?.metadata.labels == ["changed": "yes"])
            }
            let names = log.names()
            #expect(Array(names.prefix(5)).sorted() == (0..<5).map { "added default/s\($0)" })
            #expect(Array(names.dropFirst(5)).sorted() == ["added default/s9", "deleted default/s2", "updated default/s1"])
            #expect(informer.listCount >= 2)
            group.cancelAll()
        }
    }
}

import Foundation
import KubernetesModel
import TestSupport
import Testing
@testable import KubernetesClient
@testable import KubernetesEmulator

@Suite("KubernetesClient against the emulator over HTTPS", .dedicatedThreads)
struct ClientVerbTests {
    /// Create, get, list, update, every patch type, the status subresource and delete round-trip for Services.
    @Test("every verb on Services, with status as a separate subresource")
    func serviceVerbs() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                let created = try await client.create(.services, namespace: "default", service("web"))
                #expect(created.metadata.uid != nil)
                #expect(created.spec.clusterIP?.hasPrefix("10.96.") == true)
                #expect(created.spec.ports?.first?.nodePort != nil)

                let got = try await client.get(.services, namespace: "default", name: "web")
                #expect(got == created)

                // A status write through the main resource is ignored; through /status it lands.
                var withStatus = got
                withStatus.status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: "192.0.2.1")]))
                let ignored = try await client.update(.services, namespace: "default", name: "web", withStatus)
                #expect(ignored.status?.loadBalancer?.ingress == nil)
                let patched = try await client.patch(.services, namespace: "default", name: "web",
                                                     .merge(["status": ["loadBalancer": ["ingress": [["ip": "192.0.2.1"]]]]]),
                                                     subresource: "status")
                #expect(patched.status?.loadBalancer?.ingress?.first?.ip == "192.0.2.1")
                #expect(patched.status?.loadBalancer?.ingress?.first?.ipMode == "VIP")

                let labelled = try await client.patch(.services, namespace: "default", name: "web",
                                                      .json([JSONPatch.Operation(op: "add", path: "/metadata/labels", value: ["tier": "front"])]))
                #expect(labelled.metadata.labels == ["tier": "front"])
                let strategic = try await client.patch(.services, namespace: "default", name: "web",
                                                       .strategicMerge(["spec": ["ports": [["port": 80, "name": "http"]]]]))
                #expect(strategic.spec.ports?.count == 1)
                #expect(strategic.spec.ports?.first?.name == "http")
                #expect(strategic.spec.ports?.first?.nodePort == created.spec.ports?.first?.nodePort)

                try await client.delete(.services, namespace: "default", name: "web")
                await #expect(throws: KubernetesClientError.self) { try await client.get(.services, namespace: "default", name: "web") }
                do {
                    _ = try await client.get(.services, namespace: "default", name: "web")
                } catch let error as KubernetesClientError {
                    #expect(error.isNotFound)
                    #expect(error.description == "NotFound (404): services \"web\" not found")
                }
            }
        }
    }

    /// Every kind the daemons use can be created and read back through its typed resource.
    @Test("typed resources for every kind Beacon reads or writes")
    func everyKind() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system", labels: ["team": "net"])))
                try await client.create(.nodes, Node(metadata: ObjectMeta(name: "node1")))
                try await client.create(.secrets, namespace: "metallb-system",
                                        Secret(metadata: ObjectMeta(name: "memberlist"), data: ["secretkey": "c2VjcmV0"]))
                try await client.create(.pods, namespace: "metallb-system",
                                        Pod(metadata: ObjectMeta(name: "speaker-1"), spec: PodSpec(nodeName: "node1")))
                try await client.create(.endpointSlices, namespace: "default",
                                        EndpointSlice(metadata: ObjectMeta(name: "web-1", labels: ["kubernetes.io/service-name": "web"]),
                                                      addressType: "IPv4", endpoints: [Endpoint(addresses: ["10.0.0.1"])]))
                try await client.create(.leases, namespace: "metallb-system",
                                        Lease(metadata: ObjectMeta(name: "beacon-controller"), spec: LeaseSpec(holderIdentity: "a")))
                try await client.create(.events, namespace: "default",
                                        Event(metadata: ObjectMeta(name: "web.1"), eventTime: "2026-11-28T04:00:00.000000Z",
                                              reportingController: "metallb-controller", reportingInstance: "c", action: "IPAllocated",
                                              reason: "IPAllocated", regarding: ObjectReference(kind: "Service", namespace: "default", name: "web"),
                                              note: "Assigned IP", type: "Normal"))
                try await client.create(.ipAddressPools, namespace: "metallb-system",
                                        ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "pool"],
                                         "spec": ["addresses": ["192.0.2.0/28"]]])
                #expect(try await client.list(.namespaces).items.contains { $0.metadata.name == "metallb-system" })
                #expect(try await client.get(.nodes, name: "node1").metadata.name == "node1")
                #expect(try await client.get(.secrets, namespace: "metallb-system", name: "memberlist").data?["secretkey"] == "c2VjcmV0")
                #expect(try await client.get(.pods, namespace: "metallb-system", name: "speaker-1").spec?.nodeName == "node1")
                #expect(try await client.list(.endpointSlices, namespace: "default").items.first?.endpoints.first?.addresses == ["10.0.0.1"])
                #expect(try await client.get(.leases, namespace: "metallb-system", name: "beacon-controller").spec?.holderIdentity == "a")
                #expect(try await client.list(.events, namespace: "default").items.first?.reason == "IPAllocated")
                let pool = try await client.get(.ipAddressPools, namespace: "metallb-system", name: "pool")
                #expect(pool["spec"]?["autoAssign"] == true)
                #expect(try await client.list(.ipAddressPools).items.count == 1)
            }
        }
    }

    /// Label and field selectors are evaluated by the server; paging follows `continue` to the end.
    @Test("label and field selectors, and paged lists")
    func selectorsAndPaging() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                for i in 0..<25 {
                    try await client.create(.services, namespace: "default",
                                            service("svc-\(i)", labels: ["app": i % 2 == 0 ? "even" : "odd"], type: i < 5 ? "ClusterIP" : "LoadBalancer"))
                }
                #expect(try await client.list(.services, namespace: "default", options: ListOptions(labelSelector: "app=even")).items.count == 13)
                #expect(try await client.list(.services, options: ListOptions(labelSelector: "app in (odd),app!=even")).items.count == 12)
                #expect(try await client.list(.services, options: ListOptions(fieldSelector: "metadata.name=svc-3")).items.map(\.metadata.name) == ["svc-3"])
                #expect(try await client.list(.services, options: ListOptions(fieldSelector: "spec.type=LoadBalancer")).items.count == 20)
                let paged = try await client.list(.services, namespace: "default", options: ListOptions(limit: 7))
                #expect(paged.items.count == 25)
                #expect(Set(paged.items.compactMap(\.metadata.name)).count == 25)
                do {
                    _ = try await client.list(.services, options: ListOptions(fieldSelector: "spec.selector=x"))
                    Issue.record("an unsupported field selector must fail")
                } catch let error as KubernetesClientError {
                    #expect(error.code == 400)
                    #expect(error.description.contains("field label not supported: spec.selector"))
                }
            }
        }
    }

    /// A response many times the HTTP/2 flow-control window (64 KB until the client raises it) arrives whole: the
    /// server keeps the stream open until the client has taken the last byte.
    @Test("lists larger than the HTTP/2 flow-control window arrive whole")
    func largeLists() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                let filler = String(repeating: "x", count: 2_000)
                for i in 0..<300 {
                    var s = service("big-\(i)")
                    s.metadata.annotations = ["filler": filler]
                    try await client.create(.services, namespace: "default", s)
                }
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<4 { group.addTask { try await client.list(.services, namespace: "default").items.count } }
                    for try await count in group { #expect(count == 300) }
                }
            }
        }
    }

    /// A stale resourceVersion is a Conflict; `modify` re-reads and retries until its write lands.
    @Test("409 on a stale resourceVersion, and modify retries with a fresh read")
    func optimisticConcurrency() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { server in
            try await emu.withClient { client in
                let lease = try await client.create(.leases, namespace: "default", Lease(metadata: ObjectMeta(name: "l"), spec: LeaseSpec(holderIdentity: "a")))
                var stale = lease
                stale.spec?.holderIdentity = "b"
                try await client.update(.leases, namespace: "default", name: "l", stale)
                stale.spec?.holderIdentity = "c"
                do {
                    try await client.update(.leases, namespace: "default", name: "l", stale)
                    Issue.record("a stale write must conflict")
                } catch let error as KubernetesClientError {
                    #expect(error.isConflict)
                }
                // The first attempt races with another writer and loses; the second wins.
                let attempts = Counter()
                let leases = try #require(ResourceType.catalog.first { $0.plural == "leases" })
                let result = try await client.modify(.leases, namespace: "default", name: "l") { lease in
                    if attempts.next() == 1 {
                        _ = try? server.handler.state.write { s throws(Status) in
                            try s.patch(leases, namespace: "default", name: "l", .merge(["spec": ["holderIdentity": "intruder"]]))
                        }
                    }
                    lease.spec?.holderIdentity = "winner"
                    return true
                }
                #expect(attempts.next() == 3)
                #expect(result.spec?.holderIdentity == "winner")
            }
        }
    }

    /// Creating what exists is AlreadyExists; deleting an object with finalizers only marks it.
    @Test("AlreadyExists, and finalizers delay deletion")
    func existsAndFinalizers() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                var s = service("web")
                s.metadata.finalizers = ["beacon.io/test"]
                try await client.create(.services, namespace: "default", s)
                do {
                    try await client.create(.services, namespace: "default", s)
                    Issue.record("a second create must fail")
                } catch let error as KubernetesClientError {
                    #expect(error.isAlreadyExists)
                }
                try await client.delete(.services, namespace: "default", name: "web")
                let marked = try await client.get(.services, namespace: "default", name: "web")
                #expect(marked.metadata.deletionTimestamp != nil)
                try await client.patch(.services, namespace: "default", name: "web", .merge(["metadata": ["finalizers": .null]]))
                await #expect(throws: KubernetesClientError.self) { try await client.get(.services, namespace: "default", name: "web") }
            }
        }
    }
}

final class Counter: @unchecked Sendable {
    // Safety: used from one task at a time.
    private var value = 0
    func next() -> Int { value += 1; return value }
}

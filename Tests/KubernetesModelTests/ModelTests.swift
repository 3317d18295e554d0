import Foundation
import Testing
@testable import KubernetesModel

func fixture(_ name: String) throws -> Data {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
    return try Data(contentsOf: url)
}

@Suite("Kubernetes models")
struct ModelTests {
    /// A LoadBalancer Service as the API server returns it decodes with every field Beacon uses.
    @Test("decodes a LoadBalancer Service")
    func service() throws {
        let s = try JSONDecoder().decode(Service.self, from: try fixture("service-lb.json"))
        #expect(s.namespacedName == "kube-system/dns-udp")
        #expect(s.spec.isLoadBalancer)
        #expect(s.spec.ports?.map(\.port) == [53, 9153])
        #expect(s.spec.ports?.last?.targetPort == .string("metrics"))
        #expect(s.spec.ports?.first?.targetPort == .int(53))
        #expect(s.spec.ipFamilyPolicy == "SingleStack")
        #expect(s.status?.loadBalancer?.ingress == [LoadBalancerIngress(ip: "192.0.2.10", ipMode: "VIP")])
        #expect(s.metadata.annotations?["metallb.io/allow-shared-ip"] == "dns")
        #expect(s.metadata.resourceVersion == "4711")
    }

    @Test("round-trips every model through JSON")
    func roundTrip() throws {
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        let service = try decoder.decode(Service.self, from: try fixture("service-lb.json"))
        #expect(try decoder.decode(Service.self, from: try encoder.encode(service)) == service)
        let slice = try decoder.decode(EndpointSlice.self, from: try fixture("endpointslice.json"))
        #expect(try decoder.decode(EndpointSlice.self, from: try encoder.encode(slice)) == slice)
        let node = try decoder.decode(Node.self, from: try fixture("node.json"))
        #expect(try decoder.decode(Node.self, from: try encoder.encode(node)) == node)
        let lease = Lease(metadata: ObjectMeta(name: "beacon-controller", namespace: "metallb-system"),
                          spec: LeaseSpec(holderIdentity: "controller-1", leaseDurationSeconds: 15, renewTime: "2026-11-28T02:00:00.000000Z"))
        #expect(try decoder.decode(Lease.self, from: try encoder.encode(lease)) == lease)
        let event = Event(metadata: ObjectMeta(name: "web.1", namespace: "default"), eventTime: "2026-11-28T02:00:00.000000Z",
                          reportingController: "metallb.io/controller", reportingInstance: "controller-1", action: "Allocate",
                          reason: "IPAllocated", regarding: ObjectReference(apiVersion: "v1", kind: "Service", namespace: "default", name: "web"),
                          note: "Assigned IP [\"192.0.2.10\"]", type: "Normal")
        #expect(try decoder.decode(Event.self, from: try encoder.encode(event)) == event)
    }

    /// MetalLB's serving rule: ready absent or true, or serving true.
    @Test("knows which endpoints serve")
    func endpoints() throws {
        let slice = try JSONDecoder().decode(EndpointSlice.self, from: try fixture("endpointslice.json"))
        #expect(slice.serviceName == "web")
        #expect(slice.endpoints.map(\.isServing) == [true, true, false, true])
        #expect(slice.endpoints.map(\.nodeName) == ["node1", "node2", "node3", "node4"])
    }

    @Test("knows node conditions and exclusion")
    func node() throws {
        let n = try JSONDecoder().decode(Node.self, from: try fixture("node.json"))
        #expect(n.isNetworkUnavailable)
        #expect(n.isExcludedFromLoadBalancers)
        #expect(n.addresses("InternalIP") == ["192.0.2.11"])
        #expect(n.metadata.name == "node1")
        let healthy = Node(metadata: ObjectMeta(name: "n2"), status: NodeStatus(conditions: [NodeCondition(type: "NetworkUnavailable", status: "False")]))
        #expect(!healthy.isNetworkUnavailable)
        #expect(!healthy.isExcludedFromLoadBalancers)
    }

    @Test("decodes API errors as Status", arguments: [
        ("status-404.json", 404, "NotFound", "404 NotFound: services \"nope\" not found"),
        ("status-409.json", 409, "Conflict", "409 Conflict: Operation cannot be fulfilled on services \"web\": the object has been modified; please apply your changes to the latest version and try again"),
    ])
    func status(_ file: String, _ code: Int, _ reason: String, _ text: String) throws {
        let s = try JSONDecoder().decode(Status.self, from: try fixture(file))
        #expect(s.code == code)
        #expect(s.reason == reason)
        #expect(s.description == text)
    }

    @Test("decodes lists (including null items) and watch events")
    func listsAndWatch() throws {
        let list = try JSONDecoder().decode(ObjectList<Service>.self, from: Data(#"{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"99"},"items":null}"#.utf8))
        #expect(list.items.isEmpty)
        #expect(list.metadata.resourceVersion == "99")
        let line = #"{"type":"MODIFIED","object":{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team","labels":{"tier":"gold"},"resourceVersion":"100"}}}"#
        let event = try JSONDecoder().decode(WatchEvent<Namespace>.self, from: Data(line.utf8))
        #expect(event.type == .modified)
        #expect(event.object.metadata.labels == ["tier": "gold"])
        let bookmark = try JSONDecoder().decode(WatchEvent<Namespace>.self, from: Data(#"{"type":"BOOKMARK","object":{"kind":"Namespace","apiVersion":"v1","metadata":{"resourceVersion":"120"}}}"#.utf8))
        #expect(bookmark.type == .bookmark)
        #expect(bookmark.object.metadata.resourceVersion == "120")
    }

    @Test("a minimal Service decodes with defaults")
    func minimal() throws {
        let s = try JSONDecoder().decode(Service.self, from: Data(#"{"metadata":{"name":"x"}}"#.utf8))
        #expect(!s.spec.isLoadBalancer)
        #expect(s.status == nil)
    }
}

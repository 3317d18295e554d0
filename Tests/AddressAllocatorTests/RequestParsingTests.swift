import Testing
import NetworkPrimitives
@testable import AddressAllocator

@Suite("Requests from Service fields")
struct RequestParsingTests {
    static func service(_ edit: (inout ServiceDescription) -> Void) -> ServiceDescription {
        var d = ServiceDescription(namespace: "default", name: "web")
        d.clusterIPs = ["10.96.0.10"]
        edit(&d)
        return d
    }

    static func error(_ d: ServiceDescription) -> String? {
        do {
            _ = try AllocationRequest(d)
            return nil
        } catch {
            return error.description
        }
    }

    /// Malformed or contradictory fields are error values with a clear reason.
    @Test("rejects bad requests with a reason", arguments: [
        (service { $0.loadBalancerIP = "10.0.0.1"; $0.annotations["metallb.io/loadBalancerIPs"] = "10.0.0.2" },
         "service can not have both metallb.io/loadBalancerIPs and spec.loadBalancerIP"),
        (service { $0.annotations["metallb.io/loadBalancerIPs"] = "10.0.0.1,10.0.0.2" }, "\"10.0.0.1\" \"10.0.0.2\" has the same family"),
        (service { $0.annotations["metallb.io/loadBalancerIPs"] = "10.0.0.1,2001:db8::1,10.0.0.3" }, "metallb.io/loadBalancerIPs: at most two addresses (one per family), got 3"),
        (service { $0.annotations["metallb.io/loadBalancerIPs"] = "10.0.0.300" }, "metallb.io/loadBalancerIPs: \"10.0.0.300\" is not an IP address"),
        (service { $0.annotations["metallb.universe.tf/loadBalancerIPs"] = "nope" }, "metallb.universe.tf/loadBalancerIPs: \"nope\" is not an IP address"),
        (service { $0.loadBalancerIP = "abc" }, "spec.loadBalancerIP: \"abc\" is not an IP address"),
        (service { $0.annotations["metallb.io/loadBalancerIPs"] = "2001:db8::1" }, "requested loadBalancer IP(s) [\"2001:db8::1\"] does not match the ipFamily of the service"),
        (service { $0.ipFamilyPolicy = "RequireDualStack" }, "RequireDualStack needs two cluster IPs of different families, the Service has 1"),
        (service { $0.ipFamilyPolicy = "DualStackPlease" }, "spec.ipFamilyPolicy: \"DualStackPlease\" is not SingleStack, PreferDualStack or RequireDualStack"),
        (service { $0.clusterIPs = ["10.96.0.300"] }, "spec.clusterIPs: \"10.96.0.300\" is not an IP address"),
        (service { $0.ipFamilies = ["IPv5"]; $0.clusterIPs = [] }, "spec.ipFamilies: \"IPv5\" is not IPv4 or IPv6"),
        (service { $0.ports = [("TCP", 0)] }, "spec.ports: port 0 is out of range"),
        (service { $0.clusterIPs = ["10.96.0.10", "fd00::10"]; $0.ipFamilyPolicy = "RequireDualStack"; $0.loadBalancerIP = "10.0.0.1" },
         "requested loadBalancer IP(s) [\"10.0.0.1\"] does not match the ipFamily of the service"),
    ])
    func rejects(_ d: ServiceDescription, _ message: String) {
        #expect(Self.error(d) == message)
    }

    @Test("reads annotations with the new prefix winning over the legacy one")
    func annotations() throws {
        let r = try AllocationRequest(Self.service {
            $0.annotations = ["metallb.universe.tf/address-pool": "old", "metallb.io/address-pool": "new",
                              "metallb.universe.tf/allow-shared-ip": "k", "metallb.universe.tf/loadBalancerIPs": "10.0.0.5"]
        })
        #expect(r.requestedPool == "new")
        #expect(r.sharingKey == "k")
        #expect(r.requestedIPs == [try IPAddress("10.0.0.5")])
    }

    @Test("derives families from clusterIPs and ipFamilyPolicy", arguments: [
        (["10.96.0.1"], nil, [String](), FamilyPolicy.singleStack(.ipv4)),
        (["fd00::1"], nil, [], .singleStack(.ipv6)),
        (["fd00::1"], "PreferDualStack", [], .preferDualStack(primary: .ipv6)),
        (["10.96.0.1", "fd00::1"], "PreferDualStack", [], .preferDualStack(primary: .ipv4)),
        (["fd00::1", "10.96.0.1"], "RequireDualStack", [], .requireDualStack),
        ([], nil, ["IPv6"], .singleStack(.ipv6)),
        (["None"], nil, ["IPv6", "IPv4"], .singleStack(.ipv6)),
    ])
    func families(_ clusterIPs: [String], _ policy: String?, _ declared: [String], _ expected: FamilyPolicy) throws {
        let r = try AllocationRequest(Self.service { $0.clusterIPs = clusterIPs; $0.ipFamilyPolicy = policy; $0.ipFamilies = declared })
        #expect(r.families == expected)
    }

    @Test("the backend key is empty for Cluster and the selector for Local")
    func backendKey() throws {
        let cluster = try AllocationRequest(Self.service { $0.selector = ["app": "web"] })
        #expect(cluster.backendKey == "")
        let local = try AllocationRequest(Self.service { $0.externalTrafficPolicy = "Local"; $0.selector = ["tier": "fe", "app": "web"] })
        #expect(local.backendKey == "app=web,tier=fe")
    }

    @Test("ports default to TCP and come sorted")
    func ports() throws {
        let r = try AllocationRequest(Self.service { $0.ports = [("UDP", 53), ("", 80), ("TCP", 53)] })
        #expect(r.ports.map(\.description) == ["TCP/53", "TCP/80", "UDP/53"])
    }

    @Test("dual-stack requested addresses are accepted in either order")
    func dualRequested() throws {
        let r = try AllocationRequest(Self.service {
            $0.clusterIPs = ["10.96.0.10", "fd00::10"]
            $0.ipFamilyPolicy = "RequireDualStack"
            $0.annotations["metallb.io/loadBalancerIPs"] = "2001:db8::5, 192.0.2.5"
        })
        #expect(r.requestedIPs.map(\.description) == ["192.0.2.5", "2001:db8::5"])
    }
}

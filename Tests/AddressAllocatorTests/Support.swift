import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives
@testable import AddressAllocator

/// Builds a Configuration from compact pool specs: `name: entries [options]`.
func configuration(_ yaml: String) -> Configuration {
    do {
        return try ConfigurationLoader().load([ConfigSource(name: "test.yaml", text: yaml)]).configuration
    } catch {
        fatalError("test configuration is invalid: \(error)")
    }
}

func poolYAML(_ name: String, _ addresses: [String], _ extra: String = "") -> String {
    """
    apiVersion: metallb.io/v1beta1
    kind: IPAddressPool
    metadata: {name: \(name), namespace: metallb-system}
    spec: {addresses: [\(addresses.map { "\"\($0)\"" }.joined(separator: ", "))]\(extra.isEmpty ? "" : ", " + extra)}
    """
}

func pools(_ docs: String...) -> String { docs.joined(separator: "\n---\n") }

/// A request with the usual defaults: namespace "default", IPv4 single stack, Cluster traffic policy.
func req(_ name: String, ns: String = "default", ips: [String] = [], pool: String? = nil, share: String? = nil,
         ports: [String] = [], backend: String = "", families: FamilyPolicy = .singleStack(.ipv4),
         nsLabels: [String: String] = [:], labels: [String: String] = [:]) -> AllocationRequest {
    AllocationRequest(
        service: ServiceKey(namespace: ns, name: name), namespaceLabels: nsLabels, serviceLabels: labels, families: families,
        requestedIPs: ips.compactMap { try? IPAddress($0) }, requestedPool: pool, sharingKey: share, backendKey: backend,
        ports: ports.map { p in
            let parts = p.split(separator: "/")
            return ServicePort(String(parts[0]), Int(parts[1]) ?? 0)
        })
}

/// One step of a scripted scenario.
enum Step: Sendable {
    /// Replace the configuration; `evicted` lists "ns/name" of released Services.
    case config(String, evicted: [String] = [])
    /// Allocate; expect "pool: ip,ip" or "error: message".
    case alloc(AllocationRequest, String)
    /// Restore these addresses; expect "pool: ip,ip" or "error: message".
    case restore(AllocationRequest, [String], String)
    case release(String)
    /// Expect "v4 assigned/size v6 assigned/size" for a pool.
    case stats(String, String)
    /// Expect the Services using an address.
    case users(String, [String])
}

struct Scenario: Sendable, CustomTestStringConvertible {
    var name: String
    var steps: [Step]
    var testDescription: String { name }
}

func outcome(_ body: () throws(AllocationError) -> Allocation) -> String {
    do {
        let a = try body()
        return "\(a.pool): \(a.ips.map(\.description).joined(separator: ","))"
    } catch {
        return "error: \(error)"
    }
}

func stats(_ allocator: AddressAllocator, _ pool: String) -> String {
    guard let s = allocator.statistics(pool: pool) else { return "no pool" }
    return "v4 \(s.assigned[.ipv4] ?? .zero)/\(s.size[.ipv4] ?? .zero) v6 \(s.assigned[.ipv6] ?? .zero)/\(s.size[.ipv6] ?? .zero)"
}

import Testing

import KubernetesModel
import NetworkPrimitives

/// The addresses a Service holds and the pool they came from.
public struct Allocation: Hashable, Sendable, CustomStringConvertible {
    public var service: ServiceKey
    public var pool: String
    /// Stored inline: building an array for every allocation would cost a heap allocation on the hot path.
    var addresses: AddressPair

    /// IPv4 first, then IPv6.
    public var ips: [IPAddress] { addresses.ips }

    init(service: ServiceKey, pool: String, addresses: AddressPair) {
        self.service = service
        self.pool = pool
        self.addresses = addresses
    }

    init(service: ServiceKey, pool: String, ips: [IPAddress]) {
        self.init(service: service, pool: pool, addresses: AddressPair(ips))
    }

    /// The address of one family, if held.
    public func address(_ family: IPFamily) -> IPAddress? { addresses.address(family) }

    public var description: String { "\(service): \(ips.map(\.description).joined(separator: ",")) from \(pool)" }
}

/// What `allocate` did.
public struct AllocationOutcome: Hashable, Sendable {
    public var allocation: Allocation
    /// The Service's previous addresses when they were replaced, and why they could not be kept.
    public var replaced: (allocation: Allocation, reason: AllocationError)?
    /// False when the Service already held exactly these addresses (a re-assign: nothing to write).
    public var changed: Bool

    public static func == (l: AllocationOutcome, r: AllocationOutcome) -> Bool {
        l.allocation == r.allocation && l.changed == r.changed && l.replaced?.allocation == r.replaced?.allocation
            && l.replaced?.reason == r.replaced?.reason
    }

    public func hash(into h: inout Hasher) {
        h.combine(allocation)
        h.combine(changed)
    }
}

/// Exact per-pool counts, for `metallb_allocator_*` metrics and IPAddressPool status.
public struct PoolStatistics: Hashable, Sendable {
    public var pool: String
    public var size: [IPFamily: AddressCount]
    /// Addresses in use (an address shared by several Services counts once).
    public var assigned: [IPFamily: AddressCount]
    /// Services holding an address of this pool.
    public var services: Int

    public func available(_ family: IPFamily) -> AddressCount { (size[family] ?? .zero) - (assigned[family] ?? .zero) }
    public var totalSize: AddressCount { (size[.ipv4] ?? .zero) + (size[.ipv6] ?? .zero) }
    public var totalAssigned: AddressCount { (assigned[.ipv4] ?? .zero) + (assigned[.ipv6] ?? .zero) }
}

import KubernetesClient
import KubernetesModel
import NetworkPrimitives

/// What the speaker keeps of the objects it watches: the fields the planner and the status writer read, in records
/// that hold only those fields and rebuild the object when read (ports, cluster IPs, selectors, managed fields and most
/// annotations go). With 10,000 Services the caches are most of a speaker's heap: a whole Service struct is about 400
/// bytes inline even with its fields nil, these records about 150.
enum CacheProjection {
    @Sendable static func service(_ s: Service) -> any CachedObject<Service> { ServiceRecord(s) }

    @Sendable static func endpointSlice(_ e: EndpointSlice) -> any CachedObject<EndpointSlice> { EndpointSliceRecord(e) }

    final class ServiceRecord: CachedObject {
        let namespace: String?
        let name: String?
        let uid: CompactUID?
        let resourceVersion: String?
        let labels: [String: String]?
        /// The annotations the planner reads (the pool, and both spellings of allow-shared-ip), as fields: a one-entry
        /// dictionary costs about 220 bytes.
        let pool: String?
        let allowShared: String?
        let allowSharedLegacy: String?
        let type: String?
        let loadBalancerClass: String?
        let externalTrafficPolicy: String?
        let ingress: CompactIngress?

        init(_ s: Service) {
            namespace = s.metadata.namespace
            name = s.metadata.name
            uid = s.metadata.uid.map(CompactUID.init)
            resourceVersion = s.metadata.resourceVersion
            labels = s.metadata.labels
            let a = s.metadata.annotations
            pool = a?["metallb.io/ip-allocated-from-pool"]
            allowShared = a?["metallb.io/allow-shared-ip"]
            allowSharedLegacy = a?["metallb.universe.tf/allow-shared-ip"]
            type = s.spec.type
            loadBalancerClass = s.spec.loadBalancerClass
            externalTrafficPolicy = s.spec.externalTrafficPolicy
            ingress = s.status?.loadBalancer?.ingress.map(CompactIngress.init)
        }

        var object: Service {
            var meta = ObjectMeta(name: name, namespace: namespace, labels: labels)
            meta.uid = uid?.text
            meta.resourceVersion = resourceVersion
            var a: [String: String] = [:]
            if let pool { a["metallb.io/ip-allocated-from-pool"] = pool }
            if let allowShared { a["metallb.io/allow-shared-ip"] = allowShared }
            if let allowSharedLegacy { a["metallb.universe.tf/allow-shared-ip"] = allowSharedLegacy }
            meta.annotations = a.isEmpty ? nil : a
            var spec = ServiceSpec(type: type)
            spec.loadBalancerClass = loadBalancerClass
            spec.externalTrafficPolicy = externalTrafficPolicy
            var out = Service(metadata: meta, spec: spec, status: ingress.map { ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: $0.entries)) })
            out.apiVersion = nil
            out.kind = nil
            return out
        }
    }

    /// A uid as Kubernetes writes it (a lowercase RFC 4122 UUID, 36 characters: an 80-byte heap string) in 16 bytes;
    /// any other text is kept as it came.
    enum CompactUID: Hashable, Sendable {
        case uuid(UInt64, UInt64)
        case text(String)

        init(_ text: String) {
            var words: (UInt64, UInt64) = (0, 0)
            var digits = 0
            for (i, c) in text.utf8.enumerated() {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard c == UInt8(ascii: "-") else { self = .text(text); return }
                    continue
                }
                let v: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
                default: self = .text(text); return
                }
                if digits < 16 { words.0 = words.0 << 4 | UInt64(v) } else { words.1 = words.1 << 4 | UInt64(v) }
                digits += 1
            }
            self = digits == 32 && text.utf8.count == 36 ? .uuid(words.0, words.1) : .text(text)
        }

        var text: String {
            switch self {
            case .text(let t): return t
            case .uuid(let hi, let lo):
                let hex = Array("0123456789abcdef".utf8)
                var out = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
                var i = 35
                for (word, count) in [(lo, 16), (hi, 16)] {
                    var w = word
                    for _ in 0..<count {
                        if i == 8 || i == 13 || i == 18 || i == 23 { i -= 1 }
                        out[i] = hex[Int(w & 0xf)]
                        w >>= 4
                        i -= 1
                    }
                }
                return String(decoding: out, as: UTF8.self)
            }
        }
    }

    /// `status.loadBalancer.ingress` as addresses when every entry is just an address in its canonical text with one
    /// shared ipMode (what a LoadBalancer controller writes): an entry is otherwise about 140 bytes with its string.
    /// Anything else (hostnames, ports, other spellings) is kept as it came.
    enum CompactIngress: Hashable, Sendable {
        case addresses([IPAddress], ipMode: String?)
        case verbatim([LoadBalancerIngress])

        init(_ entries: [LoadBalancerIngress]) {
            let mode = entries.first?.ipMode
            var ips: [IPAddress] = []
            ips.reserveCapacity(entries.count)
            for e in entries {
                guard let text = e.ip, e.hostname == nil, e.ports == nil, e.ipMode == mode,
                      let ip = try? IPAddress(text), ip.description == text else { self = .verbatim(entries); return }
                ips.append(ip)
            }
            self = .addresses(ips, ipMode: mode)
        }

        var entries: [LoadBalancerIngress] {
            switch self {
            case .verbatim(let e): return e
            case .addresses(let ips, let mode): return ips.map { LoadBalancerIngress(ip: $0.description, ipMode: mode) }
            }
        }
    }

    final class EndpointSliceRecord: CachedObject {
        let namespace: String?
        let name: String?
        let resourceVersion: String?
        let service: String?
        let addressType: String
        /// Each endpoint's node and conditions (the addresses are not needed).
        let endpoints: [CompactEndpoint]

        init(_ e: EndpointSlice) {
            namespace = e.metadata.namespace
            name = e.metadata.name
            resourceVersion = e.metadata.resourceVersion
            service = e.serviceName
            addressType = e.addressType
            endpoints = e.endpoints.map { CompactEndpoint(nodeName: $0.nodeName, conditions: $0.conditions) }
        }

        var object: EndpointSlice {
            var meta = ObjectMeta(name: name, namespace: namespace, labels: service.map { [EndpointSlice.serviceNameLabel: $0] })
            meta.resourceVersion = resourceVersion
            var out = EndpointSlice(metadata: meta, addressType: addressType, endpoints: endpoints.map(\.endpoint))
            out.apiVersion = nil
            out.kind = nil
            return out
        }
    }

    /// An endpoint's node and its three conditions (each unset, false or true) in one byte: 24 bytes a slot, not 64.
    struct CompactEndpoint: Hashable, Sendable {
        let nodeName: String?
        let conditions: UInt8

        private static let present: UInt8 = 1 << 6

        init(nodeName: String?, conditions: EndpointConditions?) {
            self.nodeName = nodeName
            func bits(_ b: Bool?) -> UInt8 { b.map { $0 ? 2 : 1 } ?? 0 }
            self.conditions = conditions.map { Self.present | bits($0.ready) | bits($0.serving) << 2 | bits($0.terminating) << 4 } ?? 0
        }

        var endpoint: Endpoint {
            func bool(_ shift: UInt8) -> Bool? {
                switch conditions >> shift & 3 { case 1: false; case 2: true; default: nil }
            }
            let c = conditions & Self.present == 0 ? nil : EndpointConditions(ready: bool(0), serving: bool(2), terminating: bool(4))
            return Endpoint(addresses: [], conditions: c, nodeName: nodeName)
        }
    }
}

import KubernetesClient
import KubernetesModel
import NetworkPrimitives

/// What the speaker keeps of the objects it watches: the fields the planner and the status writer read, in records
/// that hold only those fields and rebuild the object when read (ports, cluster IPs, selectors, managed fields and most
/// annotations go). With 10,000 Services the caches are most of a speaker's heap: a whole Service struct is about 400
/// bytes inline even with its fields nil, a Service record about 110.
enum CacheProjection {
    static let service = Projection<Service> { ServiceRecord($0) }

    static let endpointSlice = Projection<EndpointSlice> { EndpointSliceRecord($0) }

    /// About 110 bytes a Service: the namespace and name come from the cache key, `spec.type`
    /// and `externalTrafficPolicy` are a byte each when Kubernetes knows the value, the usual single ingress address
    /// sits inline, and what most Services leave unset waits in one optional box.
    final class ServiceRecord: CachedObject {
        let resourceVersion: String?
        /// `metallb.io/ip-allocated-from-pool`: the controller sets it on every Service it assigns.
        let pool: String?
        let labels: [String: String]?
        let rare: Rare?
        /// Before the uid: an `IPAddress` is 16-byte aligned, so this order leaves no padding between them.
        let ingress: CompactIngress?
        let uid: CompactUID?
        let type: Known
        let policy: Known

        /// The fields few Services set, and spellings of type or policy that `Known` has no code for.
        final class Rare: Sendable {
            let allowShared: String?
            let allowSharedLegacy: String?
            let loadBalancerClass: String?
            let type: String?
            let policy: String?

            init?(allowShared: String?, allowSharedLegacy: String?, loadBalancerClass: String?, type: String?, policy: String?) {
                guard allowShared != nil || allowSharedLegacy != nil || loadBalancerClass != nil || type != nil || policy != nil else { return nil }
                self.allowShared = allowShared
                self.allowSharedLegacy = allowSharedLegacy
                self.loadBalancerClass = loadBalancerClass
                self.type = type
                self.policy = policy
            }
        }

        init(_ s: Service) {
            resourceVersion = s.metadata.resourceVersion
            labels = s.metadata.labels
            let a = s.metadata.annotations
            pool = a?["metallb.io/ip-allocated-from-pool"]
            uid = s.metadata.uid.map(CompactUID.init)
            type = Known(s.spec.type)
            policy = Known(s.spec.externalTrafficPolicy)
            rare = Rare(allowShared: a?["metallb.io/allow-shared-ip"], allowSharedLegacy: a?["metallb.universe.tf/allow-shared-ip"],
                        loadBalancerClass: s.spec.loadBalancerClass,
                        type: type == .other ? s.spec.type : nil, policy: policy == .other ? s.spec.externalTrafficPolicy : nil)
            ingress = s.status?.loadBalancer?.ingress.map(CompactIngress.init)
        }

        func object(_ key: ObjectKey) -> Service {
            var meta = ObjectMeta(name: key.name, namespace: key.namespace.isEmpty ? nil : key.namespace, labels: labels)
            meta.uid = uid?.text
            meta.resourceVersion = resourceVersion
            var a: [String: String] = [:]
            if let pool { a["metallb.io/ip-allocated-from-pool"] = pool }
            if let v = rare?.allowShared { a["metallb.io/allow-shared-ip"] = v }
            if let v = rare?.allowSharedLegacy { a["metallb.universe.tf/allow-shared-ip"] = v }
            meta.annotations = a.isEmpty ? nil : a
            var spec = ServiceSpec(type: type == .other ? rare?.type : type.text)
            spec.loadBalancerClass = rare?.loadBalancerClass
            spec.externalTrafficPolicy = policy == .other ? rare?.policy : policy.text
            var out = Service(metadata: meta, spec: spec, status: ingress.map { ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: $0.entries)) })
            out.apiVersion = nil
            out.kind = nil
            return out
        }
    }

    /// The values Kubernetes defines for `spec.type` and `spec.externalTrafficPolicy`, a byte each; `.other` means
    /// the text is kept as it came.
    enum Known: UInt8, Sendable, CaseIterable {
        case unset, loadBalancer, clusterIP, nodePort, externalName, cluster, local, other

        init(_ text: String?) {
            guard let text else { self = .unset; return }
            self = Self.allCases.first { $0 != .unset && $0 != .other && $0.text == text } ?? .other
        }

        var text: String? {
            switch self {
            case .unset, .other: nil
            case .loadBalancer: "LoadBalancer"
            case .clusterIP: "ClusterIP"
            case .nodePort: "NodePort"
            case .externalName: "ExternalName"
            case .cluster: "Cluster"
            case .local: "Local"
            }
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
    /// shared ipMode that Kubernetes defines (what a LoadBalancer controller writes); one address, the usual case, needs
    /// no array. An entry is otherwise about 140 bytes with its string. Anything else (hostnames, ports, other spellings)
    /// is kept as it came.
    enum CompactIngress: Hashable, Sendable {
        case one(IPAddress, mode: IPMode)
        case addresses([IPAddress], mode: IPMode)
        case verbatim([LoadBalancerIngress])

        enum IPMode: UInt8, Hashable, Sendable {
            case unset, vip, proxy

            init?(_ text: String?) {
                switch text {
                case nil: self = .unset
                case "VIP": self = .vip
                case "Proxy": self = .proxy
                default: return nil
                }
            }

            var text: String? {
                switch self {
                case .unset: nil
                case .vip: "VIP"
                case .proxy: "Proxy"
                }
            }
        }

        init(_ entries: [LoadBalancerIngress]) {
            guard let mode = IPMode(entries.first?.ipMode) else { self = .verbatim(entries); return }
            var ips: [IPAddress] = []
            ips.reserveCapacity(entries.count)
            for e in entries {
                guard let text = e.ip, e.hostname == nil, e.ports == nil, e.ipMode == mode.text,
                      let ip = try? IPAddress(text), ip.description == text else { self = .verbatim(entries); return }
                ips.append(ip)
            }
            self = ips.count == 1 ? .one(ips[0], mode: mode) : .addresses(ips, mode: mode)
        }

        var entries: [LoadBalancerIngress] {
            switch self {
            case .verbatim(let e): return e
            case .one(let ip, let mode): return [LoadBalancerIngress(ip: ip.description, ipMode: mode.text)]
            case .addresses(let ips, let mode): return ips.map { LoadBalancerIngress(ip: $0.description, ipMode: mode.text) }
            }
        }
    }

    /// The namespace and name come from the cache key. 80 bytes a slice with one endpoint, where the endpoint
    /// array alone was another 64-byte allocation.
    final class EndpointSliceRecord: CachedObject {
        let resourceVersion: String?
        let service: String?
        /// Each endpoint's node and conditions (the addresses are not needed).
        let endpoints: Endpoints
        let addressType: AddressType

        /// `addressType`: the API server accepts only IPv4, IPv6 and FQDN (and the speaker does not read it); any
        /// other text reads back empty. A byte, so that one endpoint fits inline in 80 bytes.
        enum AddressType: UInt8, Sendable {
            case ipv4, ipv6, fqdn, other

            init(_ text: String) {
                switch text {
                case "IPv4": self = .ipv4
                case "IPv6": self = .ipv6
                case "FQDN": self = .fqdn
                default: self = .other
                }
            }

            var text: String {
                switch self {
                case .ipv4: "IPv4"
                case .ipv6: "IPv6"
                case .fqdn: "FQDN"
                case .other: ""
                }
            }
        }

        /// One endpoint, the usual slice of a small Service, inline; more in an array.
        enum Endpoints: Hashable, Sendable {
            case one(CompactEndpoint)
            case many([CompactEndpoint])

            init(_ list: [CompactEndpoint]) { self = list.count == 1 ? .one(list[0]) : .many(list) }

            var list: [CompactEndpoint] {
                switch self {
                case .one(let e): [e]
                case .many(let l): l
                }
            }
        }

        init(_ e: EndpointSlice) {
            resourceVersion = e.metadata.resourceVersion
            service = e.serviceName
            addressType = AddressType(e.addressType)
            endpoints = Endpoints(e.endpoints.map { CompactEndpoint(nodeName: $0.nodeName, conditions: $0.conditions) })
        }

        func object(_ key: ObjectKey) -> EndpointSlice {
            var meta = ObjectMeta(name: key.name, namespace: key.namespace.isEmpty ? nil : key.namespace,
                                  labels: service.map { [EndpointSlice.serviceNameLabel: $0] })
            meta.resourceVersion = resourceVersion
            var out = EndpointSlice(metadata: meta, addressType: addressType.text, endpoints: endpoints.list.map(\.endpoint))
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

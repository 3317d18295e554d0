import KubernetesClient
import KubernetesModel
import MetricsText
import NetworkPrimitives
import Testing
@testable import SpeakerRuntime

/// The speaker's compact per-Service state: cache records rebuild exactly the fields the planner reads, status stamps
/// compare equal to the status the writer would send, and the per-address metrics are valid exposition text.
@Suite("speaker: compact caches and scraped metrics")
struct CompactStateTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONValueDecoder().decode(T.self, from: try JSONText.parse(json))
    }

    @Test("a Service record keeps what the planner reads and nothing else")
    func serviceRecord() throws {
        let full = try decode(Service.self, """
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop","uid":"0f6c3a52-9a0e-4c55-8d2e-2d3c1b4a5e6f",
             "resourceVersion":"42","labels":{"app":"web"},"annotations":{"metallb.io/allow-shared-ip":"k","kubectl.kubernetes.io/last-applied-configuration":"{}",
             "metallb.io/ip-allocated-from-pool":"lan","metallb.universe.tf/allow-shared-ip":"old"},
             "managedFields":[{"manager":"kubectl"}]},
             "spec":{"type":"LoadBalancer","loadBalancerClass":"beacon","externalTrafficPolicy":"Local","ports":[{"port":80}],
             "selector":{"app":"web"},"clusterIP":"10.0.0.5"},
             "status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10","ipMode":"VIP"}]}}}
            """)
        let record = CacheProjection.ServiceRecord(full)
        let s = record.object(full.objectKey)
        #expect(s.metadata.name == "web" && s.metadata.namespace == "shop" && s.metadata.uid == full.metadata.uid)
        #expect(s.metadata.resourceVersion == "42" && s.metadata.labels == ["app": "web"])
        #expect(s.metadata.annotations == ["metallb.io/allow-shared-ip": "k", "metallb.io/ip-allocated-from-pool": "lan",
                                           "metallb.universe.tf/allow-shared-ip": "old"], "only the annotations the planner reads")
        #expect(s.spec.type == "LoadBalancer" && s.spec.loadBalancerClass == "beacon" && s.spec.externalTrafficPolicy == "Local")
        #expect(s.spec.ports == nil && s.spec.selector == nil && s.spec.clusterIP == nil)
        #expect(s.status?.loadBalancer?.ingress == [LoadBalancerIngress(ip: "192.0.2.10", ipMode: "VIP")])
        #expect(s.objectKey == full.objectKey && s.objectResourceVersion == "42")
        #expect(record.object(full.objectKey) == s, "rebuilding is deterministic")
        let bareService = try decode(Service.self, #"{"metadata":{"name":"a","namespace":"b"},"spec":{}}"#)
        let bareRecord = CacheProjection.ServiceRecord(bareService)
        let bare = bareRecord.object(bareService.objectKey)
        #expect(bare.status == nil && bare.metadata.annotations == nil && bare.spec.type == nil && bare.metadata.namespace == "b")
        #expect(bareRecord.rare == nil, "nothing rare, no box")
        #expect(CacheProjection.ServiceRecord(full).rare != nil, "a class and allow-shared go in the box")
    }

    /// A class instance's size as the Swift runtime allocates it (the class metadata's instanceSize field; no
    /// Objective-C interop on Linux, so it follows kind, superclass, flags and the instance address point).
    func instanceSize(_ type: AnyClass) -> Int {
        Int(unsafeBitCast(type, to: UnsafeRawPointer.self).load(fromByteOffset: 24, as: UInt32.self))
    }

    @Test("records fit the allocator size classes the memory figures assume")
    func recordSizes() {
        final class Control { var a = 0, b = 0 }
        #expect(instanceSize(Control.self) == 32, "16-byte header and two Ints: the metadata read is right")
        #expect(instanceSize(CacheProjection.ServiceRecord.self) <= 112)
        #expect(instanceSize(CacheProjection.EndpointSliceRecord.self) <= 80)
        #expect(instanceSize(StatusStamp.Record.self) <= 48)
    }

    @Test("type and externalTrafficPolicy: known values are a byte, any other spelling comes back as it came", arguments: [
        (nil, nil), ("LoadBalancer", "Cluster"), ("LoadBalancer", "Local"), ("ClusterIP", nil), ("NodePort", "Cluster"),
        ("ExternalName", nil), ("loadbalancer", "local"), ("LoadBalancer", "Cluster "), ("", ""), ("Local", "LoadBalancer"),
    ] as [(String?, String?)])
    func spellings(_ type: String?, _ policy: String?) {
        var spec = ServiceSpec(type: type)
        spec.externalTrafficPolicy = policy
        let service = Service(metadata: ObjectMeta(name: "a", namespace: "b"), spec: spec)
        let record = CacheProjection.ServiceRecord(service)
        let back = record.object(service.objectKey)
        #expect(back.spec.type == type && back.spec.externalTrafficPolicy == policy)
        let known = [nil, "LoadBalancer", "ClusterIP", "NodePort", "ExternalName", "Cluster", "Local"]
        #expect((record.rare == nil) == (known.contains(type) && known.contains(policy)), "the box only for unknown spellings")
    }

    @Test("a uid is packed only when its text comes back exactly", arguments: [
        ("0f6c3a52-9a0e-4c55-8d2e-2d3c1b4a5e6f", true), ("00000000-0000-0000-0000-000000000000", true),
        ("ffffffff-ffff-ffff-ffff-ffffffffffff", true), ("0F6C3A52-9A0E-4C55-8D2E-2D3C1B4A5E6F", false),
        ("0f6c3a52-9a0e-4c55-8d2e-2d3c1b4a5e6", false), ("0f6c3a52-9a0e-4c55-8d2e-2d3c1b4a5e6f0", false),
        ("0f6c3a529a0e-4c55-8d2e-2d3c1b4a5e6f-", false), ("0f6c3a52-9a0e-4c55-8d2e-2d3c1b4a5e6g", false), ("", false), ("uid-1", false),
    ])
    func uid(_ text: String, _ packed: Bool) {
        let u = CacheProjection.CompactUID(text)
        #expect(u.text == text)
        if case .uuid = u { #expect(packed) } else { #expect(!packed) }
    }

    @Test("ingress entries become addresses only when nothing is lost", arguments: [
        ([LoadBalancerIngress(ip: "192.0.2.10", ipMode: "VIP")], true),
        ([LoadBalancerIngress(ip: "192.0.2.10"), LoadBalancerIngress(ip: "2001:db8::1")], true),
        ([], true),
        ([LoadBalancerIngress(ip: "2001:DB8::1")], false),
        ([LoadBalancerIngress(ip: "2001:db8:0::1")], false),
        ([LoadBalancerIngress(hostname: "lb.example")], false),
        ([LoadBalancerIngress(ip: "192.0.2.10", hostname: "lb.example")], false),
        ([LoadBalancerIngress(ip: "192.0.2.10", ipMode: "VIP"), LoadBalancerIngress(ip: "192.0.2.11", ipMode: "Proxy")], false),
        ([LoadBalancerIngress(ip: "not-an-ip")], false),
        ([LoadBalancerIngress(ip: "192.0.2.10", ipMode: "Proxy"), LoadBalancerIngress(ip: "2001:db8::1", ipMode: "Proxy")], true),
        ([LoadBalancerIngress(ip: "192.0.2.10", ipMode: "vip")], false),
        ([LoadBalancerIngress(ip: "192.0.2.10", ipMode: "")], false),
    ])
    func ingress(_ entries: [LoadBalancerIngress], _ compact: Bool) {
        let c = CacheProjection.CompactIngress(entries)
        #expect(c.entries == entries)
        switch c {
        case .one: #expect(compact && entries.count == 1, "one address needs no array")
        case .addresses: #expect(compact && entries.count != 1)
        case .verbatim: #expect(!compact)
        }
    }

    @Test("an endpoint's conditions round-trip through one byte, every combination")
    func endpointConditions() {
        let values: [Bool?] = [nil, false, true]
        var all: [EndpointConditions?] = [nil]
        for r in values { for s in values { for t in values { all.append(EndpointConditions(ready: r, serving: s, terminating: t)) } } }
        #expect(all.count == 28)
        for c in all {
            for node in [nil, "n1", "a-node-name-longer-than-fifteen"] {
                let e = CacheProjection.CompactEndpoint(nodeName: node, conditions: c).endpoint
                #expect(e.conditions == c && e.nodeName == node && e.addresses.isEmpty, "\(String(describing: c)) \(String(describing: node))")
            }
        }
    }

    @Test("an EndpointSlice record keeps the Service, node and conditions of each endpoint")
    func sliceRecord() throws {
        let full = try decode(EndpointSlice.self, """
            {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-x","namespace":"shop","resourceVersion":"7",
             "labels":{"kubernetes.io/service-name":"web","endpointslice.kubernetes.io/managed-by":"x"}},"addressType":"IPv4",
             "ports":[{"port":80}],"endpoints":[{"addresses":["10.1.0.4"],"conditions":{"ready":true,"serving":true},"nodeName":"n1","zone":"z"},
             {"addresses":["10.1.0.5"],"conditions":{"ready":false,"serving":true,"terminating":true},"nodeName":"n2"}]}
            """)
        let e = CacheProjection.EndpointSliceRecord(full).object(full.objectKey)
        #expect(e.serviceName == "web" && e.metadata.labels == [EndpointSlice.serviceNameLabel: "web"])
        #expect(e.objectKey == full.objectKey && e.objectResourceVersion == "7" && e.addressType == "IPv4")
        #expect(e.endpoints.map(\.nodeName) == ["n1", "n2"] && e.endpoints.map(\.conditions) == full.endpoints.map(\.conditions))
        #expect(e.endpoints.allSatisfy { $0.addresses.isEmpty && $0.zone == nil } && e.ports == nil)
        let orphanSlice = try decode(EndpointSlice.self, #"{"metadata":{"name":"o","namespace":"b"},"addressType":"IPv6","endpoints":[]}"#)
        let orphan = CacheProjection.EndpointSliceRecord(orphanSlice).object(orphanSlice.objectKey)
        #expect(orphan.serviceName == nil && orphan.metadata.labels == nil && orphan.objectKey == orphanSlice.objectKey)
        #expect(orphan.addressType == "IPv6" && orphan.endpoints.isEmpty)
    }

    @Test("a one-endpoint slice keeps its endpoint inline; each address type reads back", arguments: [
        ("IPv4", "IPv4"), ("IPv6", "IPv6"), ("FQDN", "FQDN"), ("ipv4", ""), ("", ""),
    ])
    func oneEndpointSlice(addressType: String, readBack: String) throws {
        let slice = try decode(EndpointSlice.self, """
            {"metadata":{"name":"web-1","namespace":"shop","resourceVersion":"9","labels":{"kubernetes.io/service-name":"web"}},
             "addressType":"\(addressType)","endpoints":[{"addresses":["10.1.0.4"],"conditions":{"ready":true,"serving":true},"nodeName":"n3"}]}
            """)
        let record = CacheProjection.EndpointSliceRecord(slice)
        guard case .one(let endpoint) = record.endpoints else {
            Issue.record("one endpoint is not kept inline: \(record.endpoints)")
            return
        }
        #expect(endpoint.nodeName == "n3")
        let e = record.object(slice.objectKey)
        #expect(e.addressType == readBack && e.serviceName == "web" && e.objectResourceVersion == "9")
        #expect(e.endpoints.map(\.nodeName) == ["n3"] && e.endpoints.map(\.conditions) == slice.endpoints.map(\.conditions))
    }

    @Test("a status stamp matches the status the writer would send, and only that one")
    func stamp() throws {
        let wanted: JSONValue = ["interfaces": [["name": "eth0"]], "node": "n1", "serviceName": "web", "serviceNamespace": "shop"]
        // As the API server returns it: other key order, other metadata.
        let stamp = try decode(StatusStamp.self, """
            {"apiVersion":"metallb.io/v1beta1","kind":"ServiceL2Status","metadata":{"name":"l2-0123456789abcdef","namespace":"metallb-system",
             "resourceVersion":"99","labels":{"metallb.io/node":"n1"}},
             "status":{"serviceNamespace":"shop","serviceName":"web","node":"n1","interfaces":[{"name":"eth0"}]}}
            """)
        #expect(stamp.name == "l2-0123456789abcdef" && stamp.namespace == "metallb-system" && stamp.resourceVersion == "99")
        #expect(stamp.digest == wanted.hashValue)
        #expect(StatusStamp.Record(stamp).object(stamp.objectKey) == stamp, "the cache's record gives the stamp back")
        let other: JSONValue = ["interfaces": [["name": "eth1"]], "node": "n1", "serviceName": "web", "serviceNamespace": "shop"]
        #expect(stamp.digest != other.hashValue)
        let empty = try decode(StatusStamp.self, #"{"metadata":{"name":"l2-x","namespace":"m"}}"#)
        #expect(empty.digest != wanted.hashValue && empty.objectKey == ObjectKey(namespace: "m", name: "l2-x"))
        #expect(StatusStamp.resource(.serviceL2Statuses).plural == "servicel2statuses")
    }

    @Test("status object names: stable, at most 15 bytes, DNS-safe, distinct across 20,000 Services and per node")
    func statusNames() {
        var seen = Set<String>()
        for i in 0..<20_000 {
            for prefix in ["l2-", "bgp-"] {
                let name = StatusReporter.objectName(prefix, node: "node-\(i % 7)", namespace: "ns\(i % 13)", name: "svc-\(i)")
                #expect(name.utf8.count <= 15 && name.hasPrefix(prefix), "\(name)")
                #expect(name.dropFirst(prefix.count).utf8.allSatisfy { (48...57).contains($0) || (97...122).contains($0) }, "\(name)")
                #expect(seen.insert(name).inserted, "\(name) collides")
            }
        }
        let once = StatusReporter.objectName("l2-", node: "n1", namespace: "shop", name: "web")
        #expect(once == StatusReporter.objectName("l2-", node: "n1", namespace: "shop", name: "web"), "stable across calls and restarts")
        #expect(once != StatusReporter.objectName("l2-", node: "n2", namespace: "shop", name: "web"), "each node its own")
        #expect(once != StatusReporter.objectName("l2-", node: "n1", namespace: "sho", name: "pweb"))
    }

    @Test("label values are escaped; samples and headers are exposition text", arguments: [
        ("plain", "plain"), (#"a"b"#, #"a\"b"#), (#"a\b"#, #"a\\b"#), ("a\nb", #"a\nb"#), ("", ""), ("ünï", "ünï"),
    ])
    func escaping(_ raw: String, _ escaped: String) {
        #expect(PrometheusText.escapeLabel(raw) == escaped)
        var out = ""
        PrometheusText.sample("m", labels: [("l", raw), ("k", "v")], value: 3, into: &out)
        #expect(out == "m{l=\"\(escaped)\",k=\"v\"} 3\n")
    }

    @Test("metallb_speaker_announced: one sample per announced address, sorted, gone when withdrawn")
    func announced() throws {
        let metrics = SpeakerMetrics()
        func text() -> String {
            var out = ""
            for f in metrics.scraped { f.write(into: &out) }
            return out
        }
        #expect(text().isEmpty)
        let bgp = [SpeakerRuntime.Announced(service: ServiceKey(namespace: "a", name: "b"), ip: try IPAddress("2001:db8::1"))]
        metrics.setAnnounced(layer2: [.init(ip: try IPAddress("192.0.2.10"), service: ServiceKey(namespace: "shop", name: "web"), interfaces: ["eth0"])],
                             bgp: bgp, node: "n1")
        #expect(text() == """
            # HELP metallb_speaker_announced addresses this node announces, by service and protocol (desired state)
            # TYPE metallb_speaker_announced gauge
            metallb_speaker_announced{service="a/b",protocol="bgp",node="n1",ip="2001:db8::1"} 1
            metallb_speaker_announced{service="shop/web",protocol="layer2",node="n1",ip="192.0.2.10"} 1

            """)
        metrics.setAnnounced(layer2: [], bgp: bgp, node: "n1")
        #expect(!text().contains("192.0.2.10") && text().contains("2001:db8::1"))
    }

    @Test("beacon_layer2_advertisement_nodes: one sample per L2Advertisement, 0 included")
    func advertisementNodes() {
        let metrics = SpeakerMetrics()
        metrics.advertisementNodes.update(["rack1": [], "lan": ["n1", "n2"]])
        var out = ""
        for f in metrics.scraped { f.write(into: &out) }
        #expect(out == """
            # HELP beacon_layer2_advertisement_nodes nodes that can announce for each L2Advertisement now (live members it selects)
            # TYPE beacon_layer2_advertisement_nodes gauge
            beacon_layer2_advertisement_nodes{advertisement="lan"} 2
            beacon_layer2_advertisement_nodes{advertisement="rack1"} 0

            """)
    }
}

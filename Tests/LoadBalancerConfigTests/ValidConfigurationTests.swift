import Testing
import NetworkPrimitives
@testable import LoadBalancerConfig

/// A configuration that must be accepted, with the warnings it must produce.
struct ValidCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var warnings: [String] = []
    var implementation: ValidationOptions.BGPImplementation = .beacon
    var testDescription: String { name }
}

let validCases: [ValidCase] = [
    .init(name: "empty input", yaml: ""),
    .init(name: "a single IPv4 pool", yaml: pool("p", ["192.0.2.0/24"])),
    .init(name: "a single IPv6 pool", yaml: pool("p", ["2001:db8::/64"])),
    .init(name: "a dual-stack pool", yaml: pool("p", ["192.0.2.0/24", "2001:db8::/64"])),
    .init(name: "ranges and CIDRs in one pool", yaml: pool("p", ["192.0.2.0/25", "192.0.2.200-192.0.2.210", "2001:db8::1-2001:db8::ff"])),
    .init(name: "adjacent ranges do not overlap", yaml: pool("p", ["10.0.0.0-10.0.0.9", "10.0.0.10-10.0.0.20"])),
    .init(name: "adjacent pools do not overlap", yaml: docs(pool("a", ["10.0.0.0/25"]), pool("b", ["10.0.0.128/25"]))),
    .init(name: "the same numbers in two families", yaml: docs(pool("a", ["0.0.0.0/24"]), pool("b", ["::/120"]))),
    .init(name: "host bits are masked with a warning", yaml: pool("p", ["192.0.2.7/24"]),
          warnings: ["IPAddressPool/p: spec.addresses[0]: \"192.0.2.7/24\" has host bits set; it is read as 192.0.2.0/24 (as MetalLB reads it)"]),
    .init(name: "unknown fields are warnings", yaml: pool("p", ["192.0.2.0/24"], "autoAsign: false"),
          warnings: ["IPAddressPool/p: spec.autoAsign: unknown field \"autoAsign\" is ignored (did you mean \"autoAssign\"?)"]),
    .init(name: "unknown top-level fields are warnings", yaml: pool("p", ["192.0.2.0/24"]) + "\nextra: 1",
          warnings: ["IPAddressPool/p: extra: unknown field \"extra\" is ignored"]),
    .init(name: "status is ignored", yaml: pool("p", ["192.0.2.0/24"]) + "\nstatus: {assignedIPv4: 3}"),
    .init(name: "non-Beacon objects are ignored with a warning", yaml: docs(pool("p", ["192.0.2.0/24"]), "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}"),
          warnings: ["Deployment/web: apps/v1 Deployment is not a Beacon configuration object; ignored"]),
    .init(name: "status kinds are skipped quietly", yaml: docs(pool("p", ["192.0.2.0/24"]), object("ServiceL2Status", "l2-x", "{node: a}"))),
    .init(name: "namespace may be omitted", yaml: pool("p", ["192.0.2.0/24"]).replacing("  namespace: metallb-system\n", with: "")),
    .init(name: "null fields are absent", yaml: object("IPAddressPool", "p", "{addresses: [192.0.2.0/24], autoAssign: null, serviceAllocation: ~}")),
    .init(name: "autoAssign false", yaml: pool("p", ["192.0.2.0/24"], "autoAssign: false")),
    .init(name: "YAML 1.1 booleans", yaml: pool("p", ["192.0.2.0/24"], "autoAssign: yes, avoidBuggyIPs: on")),
    .init(name: "priority and namespaces", yaml: pool("p", ["192.0.2.0/24"], "serviceAllocation: {priority: 10, namespaces: [a, b]}")),
    .init(name: "L2 advertisement of all pools", yaml: docs(pool("p", ["192.0.2.0/24"]), object("L2Advertisement", "l2", "{}"))),
    .init(name: "L2 advertisement with interfaces and nodes", yaml: docs(pool("p", ["192.0.2.0/24"]), object("L2Advertisement", "l2", "{ipAddressPools: [p], interfaces: [eth0, ens3], nodeSelectors: [{matchLabels: {role: edge}}]}"))),
    .init(name: "BGP advertisement with aggregation equal to the pool prefix", yaml: docs(pool("p", ["10.0.0.0/24"]), object("BGPAdvertisement", "b", "{aggregationLength: 24}"))),
    .init(name: "BGP advertisement with IPv6 aggregation", yaml: docs(pool("p", ["2001:db8::/64"]), object("BGPAdvertisement", "b", "{aggregationLengthV6: 64}"))),
    .init(name: "well-known and large communities", yaml: docs(pool("p", ["10.0.0.0/24"]), object("BGPAdvertisement", "b", "{communities: [no-export, \"65000:1\", \"large:64512:1:2\"]}"))),
    .init(name: "leading zeros in a community, as Go's ParseUint accepts", yaml: docs(pool("p", ["10.0.0.0/24"]), object("BGPAdvertisement", "b", "{communities: [\"065000:01\"]}"))),
    .init(name: "an alias that shadows a well-known name", yaml: docs(pool("p", ["10.0.0.0/24"]), object("Community", "c", "{communities: [{name: no-export, value: \"65535:65281\"}]}"), object("BGPAdvertisement", "b", "{communities: [no-export]}"))),
    .init(name: "a large-community alias", yaml: docs(pool("p", ["10.0.0.0/24"]), object("Community", "c", "{communities: [{name: big, value: \"large:1:2:3\"}]}"), object("BGPAdvertisement", "b", "{communities: [big]}"))),
    .init(name: "different local preferences on disjoint nodes", yaml: docs(pool("p", ["10.0.0.0/24"]), object("BGPAdvertisement", "a", "{localPref: 100, nodeSelectors: [{matchLabels: {rack: a}}]}"), object("BGPAdvertisement", "b", "{localPref: 200, nodeSelectors: [{matchLabels: {rack: b}}]}"))),
    .init(name: "different local preferences to disjoint peers", yaml: docs(pool("p", ["10.0.0.0/24"]), peer("r1", "{myASN: 64500, peerASN: 64500, peerAddress: 192.0.2.1}"), peer("r2", "{myASN: 64500, peerASN: 64500, peerAddress: 192.0.2.2}"), object("BGPAdvertisement", "a", "{localPref: 100, peers: [r1]}"), object("BGPAdvertisement", "b", "{localPref: 200, peers: [r2]}"))),
    .init(name: "different local preferences with different aggregation", yaml: docs(pool("p", ["10.0.0.0/24"]), object("BGPAdvertisement", "a", "{localPref: 100}"), object("BGPAdvertisement", "b", "{localPref: 200, aggregationLength: 24}"))),
    .init(name: "an advertisement naming a peer that does not exist yet", yaml: docs(pool("p", ["10.0.0.0/24"]), object("BGPAdvertisement", "b", "{peers: [later]}")),
          warnings: ["BGPAdvertisement/b: spec.peers[0]: BGPPeer \"later\" does not exist; no session matches this name yet"]),
    .init(name: "an eBGP peer with a 4-byte ASN", yaml: peer("p", "{myASN: 4200000000, peerASN: 65536, peerAddress: 192.0.2.1}")),
    .init(name: "an IPv6 peer", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: \"2001:db8::1\", sourceAddress: \"2001:db8::2\"}")),
    .init(name: "hold time 0 disables keepalives", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, holdTime: 0s}")),
    .init(name: "hold time exactly 3s", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, holdTime: 3s}")),
    .init(name: "two sessions to one router from disjoint nodes", yaml: docs(peer("a", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, nodeSelectors: [{matchLabels: {rack: r1}}]}"), peer("b", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, nodeSelectors: [{matchLabels: {rack: r2}}]}"))),
    .init(name: "same router on different ports", yaml: docs(peer("a", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1}"), peer("b", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, peerPort: 1790}"))),
    .init(name: "a password Secret checked at runtime", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, passwordSecret: {name: s}}"),
          warnings: ["BGPPeer/p: spec.passwordSecret: Secret \"s\" is not part of this input; the speaker reads it at runtime"]),
    .init(name: "a password Secret with base64 data", yaml: docs(peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, passwordSecret: {name: s}}"), "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\ntype: kubernetes.io/basic-auth\ndata: {password: czNjcjN0}")),
    .init(name: "a List of objects", yaml: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {name: p}\n  spec: {addresses: [192.0.2.0/24]}"),
    .init(name: "a typed list from kubectl get -o yaml", yaml: "apiVersion: metallb.io/v1beta1\nkind: IPAddressPoolList\nitems:\n- apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {name: p, uid: abc, resourceVersion: \"5\", creationTimestamp: \"2026-01-01T00:00:00Z\", managedFields: []}\n  spec: {addresses: [192.0.2.0/24]}"),
    .init(name: "JSON as the API returns it", yaml: "{\"apiVersion\":\"metallb.io/v1beta1\",\"kind\":\"IPAddressPool\",\"metadata\":{\"name\":\"p\",\"namespace\":\"metallb-system\"},\"spec\":{\"addresses\":[\"192.0.2.0/24\"],\"autoAssign\":true}}"),
    .init(name: "a legacy bare configuration", yaml: "address-pools:\n- name: p\n  protocol: layer2\n  addresses: [192.0.2.0/24]"),
    .init(name: "a legacy pool with an unknown protocol", yaml: "address-pools:\n- name: p\n  protocol: l2\n  addresses: [192.0.2.0/24]",
          warnings: ["IPAddressPool/p: address-pools[0].protocol: \"l2\" is not layer2 or bgp; the pool is converted without an advertisement, as MetalLB's converter does"]),
    .init(name: "a VRF peer is accepted with a warning", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, vrf: red}"),
          warnings: ["BGPPeer/p: spec.vrf: VRFs are not supported by Beacon's BGP speaker yet: this peer gets no session (it is never peered from the default table instead)"]),
    .init(name: "dualStackAddressFamily is accepted as it is", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, dualStackAddressFamily: true}")),
    .init(name: "disableMP is accepted with a warning that it does nothing", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, disableMP: true}"),
          warnings: ["BGPPeer/p: spec.disableMP: disableMP has no effect, as in MetalLB: a session carries its transport's address family, and both with dualStackAddressFamily"]),
    .init(name: "a BFD profile with echo mode: asynchronous mode only, said once", yaml: docs(peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, bfdProfile: e}"), object("BFDProfile", "e", "{echoMode: true}")),
          warnings: ["BGPPeer/p: spec.bfdProfile: BFD profile \"e\" asks for echo mode, which Beacon does not run: BFD runs in asynchronous mode"]),
    .init(name: "a BFD profile", yaml: docs(peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, bfdProfile: fast}"), object("BFDProfile", "fast", "{transmitInterval: 100, receiveInterval: 100}"))),
    .init(name: "a VRF peer in FRR mode", yaml: peer("p", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, vrf: red}"), implementation: .metallbFRR),
    .init(name: "MetalLB native mode accepts a plain IPv4 setup", yaml: docs(pool("p", ["192.0.2.0/24"]), peer("r", "{myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1, holdTime: 90s}"), object("BGPAdvertisement", "b", "{communities: [\"65000:1\"], localPref: 50}")), implementation: .metallbNative),
]

@Suite("Valid configurations")
struct ValidConfigurationTests {
    /// Each valid configuration loads, with exactly the expected warnings.
    @Test("are accepted with the expected warnings", arguments: validCases)
    func accepted(_ c: ValidCase) throws {
        #expect(errors(c.yaml, c.implementation) == [], "\(c.name)")
        #expect(warnings(c.yaml, c.implementation) == c.warnings, "\(c.name)")
    }

    /// Beacon-only settings ride in `beacon.io/` annotations, so the object stays valid under MetalLB's CRD; other
    /// annotations are ignored.
    @Test("the TTL security annotation sets GTSM hops on the peer")
    func ttlSecurity() throws {
        let yaml = """
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: p, namespace: metallb-system, annotations: {beacon.io/ttl-security-hops: "1", example.com/x: "y"}}
            spec: {myASN: 64500, peerASN: 64501, peerAddress: 192.0.2.1}
            """
        let loaded = try ConfigurationLoader().load([ConfigSource(name: "p.yaml", text: yaml)])
        #expect(loaded.configuration.peers.map(\.ttlSecurityHops) == [1])
        let plain = try ConfigurationLoader().load([ConfigSource(name: "p.yaml", text: yaml.replacingOccurrences(of: "beacon.io/ttl-security-hops: \"1\", ", with: ""))])
        #expect(plain.configuration.peers.map(\.ttlSecurityHops) == [nil])
    }

    /// MetalLB's documented examples load unchanged (in every mode whose features they use).
    @Test("MetalLB's documented examples are accepted")
    func metallbDocs() throws {
        let urls = try fixtureURLs("metallb-docs")
        #expect(urls.count >= 15)
        for url in urls {
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(errors(text, .beacon) == [], "\(url.lastPathComponent)")
            #expect(errors(text, .metallbFRR) == [], "\(url.lastPathComponent)")
        }
        // The files without FRR-only features also pass MetalLB's native mode.
        for name in ["01-l2-basic.yaml", "02-bgp-basic.yaml", "03-bgp-advanced-localpref-communities.yaml", "04-community-alias.yaml",
                     "05-peer-node-selectors.yaml", "08-pool-selectors-and-nodes.yaml", "09-service-allocation.yaml", "13-v1beta1-peer.yaml"] {
            #expect(errors(try fixture("metallb-docs/" + name), .metallbNative) == [], "\(name)")
        }
    }

    @Test("timers default and derive as MetalLB's do", arguments: [
        ("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1}", 90, 30),
        ("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: 9s}", 9, 3),
        ("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, keepaliveTime: 10s}", 30, 10),
        ("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: 1m30s, keepaliveTime: 20s}", 90, 20),
        ("{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: 0s}", 0, 0),
    ])
    func timers(_ spec: String, _ hold: Int64, _ keepalive: Int64) throws {
        let (c, _) = try load(peer("p", spec))
        let p = try #require(c.peers.first)
        #expect(p.holdTime == .seconds(hold))
        #expect(p.keepaliveTime == .seconds(keepalive))
    }

    @Test("peers resolve ASNs, addresses, passwords and session type")
    func peers() throws {
        let yaml = docs(peer("ibgp", "{myASN: 64500, peerASN: 64500, peerAddress: \"::ffff:192.0.2.1\", password: pw}"),
                        peer("ebgp", "{myASN: 64500, dynamicASN: external, peerAddress: \"2001:db8::1\", routerID: 10.0.0.1}"),
                        peer("local", "{myASN: 64500, localASN: 64600, peerASN: 64600, peerAddress: 192.0.2.9}"))
        let (c, _) = try load(yaml)
        let ibgp = try #require(c.peer(named: "ibgp"))
        #expect(ibgp.isIBGP)
        #expect(ibgp.address == .v4(IPv4Address(192, 0, 2, 1)))  // IPv4-mapped text is unmapped
        #expect(ibgp.password == .inline("pw"))
        #expect(ibgp.port == 179)
        let ebgp = try #require(c.peer(named: "ebgp"))
        #expect(!ebgp.isIBGP)
        #expect(ebgp.peerASN == .dynamicExternal)
        #expect(ebgp.routerID == IPv4Address(10, 0, 0, 1))
        #expect(try #require(c.peer(named: "local")).isIBGP)  // localASN replaces myASN on the session
    }

    @Test("pool sizes are exact, with .0 and .255 excluded when asked", arguments: [
        (["192.0.2.0/24"], false, "256", "0"),
        (["192.0.2.0/24"], true, "254", "0"),
        (["10.0.0.0/16"], true, "65024", "0"),
        (["192.168.0.150-192.168.0.200"], true, "51", "0"),
        (["10.0.0.250-10.0.1.5"], true, "10", "0"),
        (["10.0.0.255-10.0.0.255"], true, "0", "0"),
        (["2001:db8::/64"], false, "0", "18446744073709551616"),
        (["2001:db8::/64"], true, "0", "18446744073709551616"),
        (["2001:db8::/48", "2001:db9::/48"], false, "0", "2417851639229258349412352"),
        (["0.0.0.0/0", "::/0"], false, "4294967296", "340282366920938463463374607431768211456"),
    ])
    func sizes(_ addresses: [String], _ avoidBuggy: Bool, _ v4: String, _ v6: String) throws {
        let (c, _) = try load(pool("p", addresses, avoidBuggy ? "avoidBuggyIPs: true" : ""))
        let p = try #require(c.pool(named: "p"))
        #expect(p.size(.ipv4).description == v4)
        #expect(p.size(.ipv6).description == v6)
    }

    @Test("lookups: pool by name and by address, advertisements per pool, peers per node")
    func lookups() throws {
        let yaml = docs(pool("a", ["192.0.2.0/25", "2001:db8:a::/64"]),
                        object("IPAddressPool", "b", "{addresses: [192.0.2.128/25]}").replacing("namespace: metallb-system", with: "namespace: metallb-system\n  labels: {tier: gold}"),
                        object("L2Advertisement", "all", "{}"),
                        object("L2Advertisement", "gold", "{ipAddressPoolSelectors: [{matchLabels: {tier: gold}}]}"),
                        object("BGPAdvertisement", "only-a", "{ipAddressPools: [a]}"),
                        peer("rack1", "{myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, nodeSelectors: [{matchLabels: {rack: \"1\"}}]}"),
                        peer("everyone", "{myASN: 1, peerASN: 2, peerAddress: 192.0.2.2}"))
        let (c, _) = try load(yaml)
        #expect(c.pools.map(\.name) == ["a", "b"])
        #expect(c.pool(containing: try IPAddress("192.0.2.127"))?.name == "a")
        #expect(c.pool(containing: try IPAddress("192.0.2.128"))?.name == "b")
        #expect(c.pool(containing: try IPAddress("2001:db8:a::ffff"))?.name == "a")
        #expect(c.pool(containing: try IPAddress("198.51.100.1")) == nil)
        #expect(c.l2Advertisements(forPool: "a").map(\.name) == ["all"])
        #expect(c.l2Advertisements(forPool: "b").map(\.name).sorted() == ["all", "gold"])
        #expect(c.bgpAdvertisements(forPool: "a").map(\.name) == ["only-a"])
        #expect(c.bgpAdvertisements(forPool: "b").isEmpty)
        #expect(c.peers(forNodeLabels: ["rack": "1"]).map(\.name) == ["everyone", "rack1"])
        #expect(c.peers(forNodeLabels: ["rack": "2"]).map(\.name) == ["everyone"])
    }

    @Test("the legacy ConfigMap converts to MetalLB's CR names and values")
    func legacyConversion() throws {
        let (c, _) = try load(try fixture("metallb-docs/15-legacy-configmap.yaml"))
        #expect(c.pools.map(\.name) == ["my-ip-space", "my-l2-space"])
        #expect(c.pool(named: "my-ip-space")?.avoidBuggyIPs == true)
        #expect(c.l2Advertisements.map(\.name) == ["l2advertisement1"])
        #expect(c.l2Advertisements(forPool: "my-l2-space").count == 1)
        let ad = try #require(c.bgpAdvertisements.first)
        #expect(ad.name == "bgpadvertisement1")
        #expect(ad.ipAddressPools == ["my-ip-space"])
        #expect(ad.aggregationLengthV6 == 64)
        #expect(ad.localPref == 100)
        #expect(ad.communities == [.standard(BGPCommunity(64512, 1)), .standard(BGPCommunity(65535, 65281))])
        let p = try #require(c.peer(named: "peer1"))
        #expect(p.holdTime == .seconds(120))
        #expect(p.keepaliveTime == .seconds(30))
        #expect(p.sourceAddress == .v4(IPv4Address(10, 0, 0, 2)))
        #expect(p.nodeSelectors.first?.matchLabels == ["kubernetes.io/hostname": "prod-01"])
        #expect(p.nodeSelectors.first?.matchExpressions.first?.values == ["amd64", "arm"])
        #expect(c.bfdProfile(named: "bfdprofile1")?.detectMultiplier == 200)
        #expect(c.communityAliases["no-export"] == .standard(BGPCommunity(65535, 65281)))
    }

    @Test("issues from converted legacy objects say where they came from")
    func legacyOrigin() throws {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: metallb-system}\ndata:\n  config: |\n    address-pools:\n    - name: p\n      protocol: layer2\n      addresses: [10.0.0.0/33]\n"
        do {
            _ = try ConfigurationLoader().load([ConfigSource(name: "cm.yaml", text: yaml)])
            Issue.record("accepted")
        } catch {
            let issue = try #require(error.errors.first)
            #expect(issue.origin == "ConfigMap/config data.config: address-pools[0]")
            #expect(issue.description.contains("from ConfigMap/config data.config: address-pools[0]"))
        }
    }

    @Test("several sources validate together")
    func severalSources() {
        let loader = ConfigurationLoader()
        #expect(throws: ConfigurationError.self) {
            try loader.load([ConfigSource(name: "a.yaml", text: pool("a", ["10.0.0.0/24"])),
                             ConfigSource(name: "b.yaml", text: pool("b", ["10.0.0.0/25"]))])
        }
        #expect(throws: Never.self) {
            try loader.load([ConfigSource(name: "a.yaml", text: pool("a", ["10.0.0.0/24"])),
                             ConfigSource(name: "b.yaml", text: docs(object("L2Advertisement", "l2", "{ipAddressPools: [a]}")))])
        }
    }

    @Test("issues carry file, line and column")
    func positions() throws {
        let yaml = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: edge\nspec:\n  addresses:\n  - 10.0.0.0/24\n  - 10.0.0.9-10.0.0.1\n"
        do {
            _ = try ConfigurationLoader().load([ConfigSource(name: "edge.yaml", text: yaml)])
            Issue.record("accepted")
        } catch {
            let issue = try #require(error.errors.first)
            #expect(issue.position == SourcePosition(file: "edge.yaml", line: 8, column: 5))
            #expect(issue.description == "IPAddressPool/edge: spec.addresses[1]: range 10.0.0.9-10.0.0.1 is reversed (the start IP is after the end IP) (at edge.yaml:8:5)")
        }
    }
}

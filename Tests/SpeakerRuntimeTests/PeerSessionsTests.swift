import AnnouncementPolicy
import BGPTransport
import Foundation
import LoadBalancerConfig
import NetworkPrimitives
import Testing
@testable import SpeakerRuntime

/// BGPPeer objects (as users write them) to session settings, or the reason there can be no session.
@Suite("speaker: BGPPeer to session settings")
struct PeerSessionsTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var spec: String
        var routerID: IPv4Address?
        /// nil: a session is expected; otherwise part of the refusal.
        var refusal: String?
        var check: @Sendable (BGPSession.Configuration) -> Bool = { _ in true }
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "eBGP with the node's address as router ID", spec: "myASN: 64513\n  peerASN: 64512\n  peerAddress: 192.0.2.1",
            routerID: IPv4Address(192, 0, 2, 11), refusal: nil,
            check: { $0.fsm.localASN == 64513 && $0.fsm.peerASN == 64512 && $0.fsm.routerID == IPv4Address(192, 0, 2, 11) && $0.port == 179 && $0.isEBGP }),
        Row(name: "spec.routerID wins over the node's address", spec: "myASN: 64513\n  peerASN: 64512\n  peerAddress: 192.0.2.1\n  routerID: 10.0.0.9",
            routerID: IPv4Address(192, 0, 2, 11), refusal: nil, check: { $0.fsm.routerID == IPv4Address(10, 0, 0, 9) }),
        Row(name: "no router ID at all is refused", spec: "myASN: 64513\n  peerASN: 64512\n  peerAddress: 2001:db8::1",
            routerID: nil, refusal: "no router ID"),
        Row(name: "dynamicASN internal peers with our own ASN", spec: "myASN: 64513\n  dynamicASN: internal\n  peerAddress: 192.0.2.1",
            routerID: IPv4Address(192, 0, 2, 11), refusal: nil, check: { $0.fsm.peerASN == 64513 && !$0.isEBGP }),
        Row(name: "dynamicASN external accepts any AS but ours, as eBGP", spec: "myASN: 64513\n  dynamicASN: external\n  peerAddress: 192.0.2.1",
            routerID: IPv4Address(192, 0, 2, 11), refusal: nil, check: { $0.fsm.anyExternalPeerAS && $0.isEBGP }),
        Row(name: "a VRF peer is refused, not peered from the default table", spec: "myASN: 64513\n  peerASN: 64512\n  peerAddress: 192.0.2.1\n  vrf: red",
            routerID: IPv4Address(192, 0, 2, 11), refusal: "VRF \"red\""),
        Row(name: "unnumbered (interface) is refused", spec: "myASN: 64513\n  peerASN: 64512\n  interface: eth0",
            routerID: IPv4Address(192, 0, 2, 11), refusal: "unnumbered"),
        Row(name: "timers, port, password, multihop, graceful restart, local ASN",
            spec: "myASN: 64513\n  localASN: 4200000000\n  peerASN: 64512\n  peerAddress: 192.0.2.1\n  peerPort: 1179\n  holdTime: 9s\n  password: s3cret\n  ebgpMultiHop: true\n  enableGracefulRestart: true\n  connectTime: 3s\n  sourceAddress: 192.0.2.11",
            routerID: IPv4Address(192, 0, 2, 11), refusal: nil,
            check: { c in
                c.port == 1179 && c.fsm.holdTime == .seconds(9) && c.fsm.keepaliveTime == .seconds(3) && c.password == "s3cret" && c.ebgpMultiHop
                    && c.fsm.gracefulRestart && c.connectTimeout == .seconds(3) && c.fsm.minimumRetry == .seconds(3) && c.fsm.maximumRetry == .seconds(3) && c.fsm.localASN == 4_200_000_000 && c.sourceAddress == .v4(IPv4Address(192, 0, 2, 11))
            }),
    ]

    @Test("each BGPPeer becomes the right session, or a refusal that says why", arguments: rows)
    func configuration(_ row: Row) throws {
        let yaml = "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p, namespace: metallb-system}\nspec:\n  \(row.spec)\n"
        let config = try ConfigurationLoader().load([ConfigSource(name: "peer.yaml", text: yaml)]).configuration
        let peer = try #require(config.peers.first)
        switch PeerSessions.sessionConfiguration(peer, routerID: row.routerID) {
        case .success(let c):
            #expect(row.refusal == nil, "expected a refusal mentioning \(row.refusal ?? "")")
            #expect(row.check(c))
        case .failure(let why):
            let expected = try #require(row.refusal, "unexpected refusal: \(why)")
            #expect(why.description.contains(expected) && why.description.contains("peer p"), "\(why)")
        }
    }

    /// A BFDProfile becomes the BFD session beside the BGP one: intervals, multiplier, passive mode; multihop (with
    /// the profile's minimum TTL) for an eBGP multihop peer. A peer without a profile has no BFD session.
    @Test("a BFDProfile becomes a BFD session beside the BGP one", arguments: [false, true])
    func bfd(_ multihop: Bool) throws {
        let yaml = """
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: p, namespace: metallb-system}
            spec: {myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1, bfdProfile: fast, ebgpMultiHop: \(multihop)}
            ---
            apiVersion: metallb.io/v1beta1
            kind: BFDProfile
            metadata: {name: fast, namespace: metallb-system}
            spec: {receiveInterval: 120, transmitInterval: 100, detectMultiplier: 4, passiveMode: true, minimumTtl: 250}

            """
        let config = try ConfigurationLoader().load([ConfigSource(name: "peer.yaml", text: yaml)]).configuration
        let peer = try #require(config.peers.first)
        let profile = try #require(config.bfdProfile(named: "fast"))
        guard case .success(let c) = PeerSessions.sessionConfiguration(peer, routerID: IPv4Address(192, 0, 2, 11), bfdProfile: profile) else {
            Issue.record("refused"); return
        }
        let bfd = try #require(c.bfd)
        #expect(bfd.session.desiredMinTx == .milliseconds(100) && bfd.session.requiredMinRx == .milliseconds(120))
        #expect(bfd.session.detectMultiplier == 4 && bfd.session.passive && bfd.multihop == multihop && bfd.minimumTTL == 250)
        guard case .success(let plain) = PeerSessions.sessionConfiguration(peer, routerID: IPv4Address(192, 0, 2, 11)) else { return }
        #expect(plain.bfd == nil)
    }

    /// The plan's attributes become the UPDATE's: communities sorted, LOCAL_PREF carried.
    @Test("route attributes become path attributes")
    func attributes() throws {
        var r = RouteAttributes(localPreference: 250)
        r.communities = [BGPCommunity(64512, 200), BGPCommunity(64512, 100)]
        let a = PeerSessions.pathAttributes(r)
        #expect(a.localPreference == 250)
        #expect(a.communities == [BGPCommunity(64512, 100), BGPCommunity(64512, 200)])
    }
}

/// The debug state's Service explanation keeps every field, nulls included, so a reader (or `jq`) sees them all.
@Suite("speaker: /debug/state encoding")
struct DebugStateTests {
    @Test("explanations write explicit nulls and round-trip")
    func nulls() throws {
        var e = ServiceExplanation(ServicePlan(service: ServiceRef(namespace: "default", name: "web"), addresses: [.v4(IPv4Address(192, 0, 2, 200))]))
        e.layer2 = [.init(advertisements: ["lan"], owner: nil, decision: "no node is a candidate: nobody announces", announces: false,
                          interfaces: [], candidates: [.init(node: "node1", weight: 0, sha256: "ab", excluded: nil)])]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(e), as: UTF8.self)
        #expect(text.contains(#""pool":null"#) && text.contains(#""owner":null"#) && text.contains(#""excluded":null"#), "\(text)")
        #expect(try JSONDecoder().decode(ServiceExplanation.self, from: Data(text.utf8)) == e)
    }
}

import BGPProtocol
import NetworkPrimitives
import Testing
@testable import BGPTransport

/// The next hop each route gets on a session: this node's address of the route's family, or none (the route is
/// withheld); never an IPv4-mapped IPv6 address.
@Suite("BGP next hops per session")
struct NextHopTests {
    static func session(dualStack: Bool) -> BGPSession {
        var fsm = SessionStateMachine.Configuration(localASN: 64513, peerASN: 64512, routerID: IPv4Address(192, 0, 2, 11))
        fsm.families = SessionStateMachine.Configuration.families(transport: .ipv4, dualStack: dualStack)
        return BGPSession(configuration: .init(peer: .v4(IPv4Address(192, 0, 2, 1)), fsm: fsm), logger: .init(label: "test"))
    }

    @Test("each family's next hop is this node's address of that family; none means withheld", arguments: [
        // (IPv4 on the interface, IPv6 on it, route family, explicit IPv6 next hop) → next hop sent, nil = withheld
        ("192.0.2.11", nil, IPFamily.ipv4, nil, "192.0.2.11"),
        ("192.0.2.11", nil, .ipv6, nil, nil),
        ("192.0.2.11", "2001:db8::11", .ipv6, nil, "2001:db8::11"),
        ("192.0.2.11", "2001:db8::11", .ipv6, "2001:db8::99", "2001:db8::99"),
        (nil, "2001:db8::11", .ipv4, nil, nil),
        (nil, "2001:db8::11", .ipv6, nil, "2001:db8::11"),
        ("192.0.2.11", "2001:db8::11", .ipv4, nil, "192.0.2.11"),
    ] as [(String?, String?, IPFamily, String?, String?)])
    func nextHop(_ v4: String?, _ v6: String?, _ family: IPFamily, _ explicit: String?, _ expected: String?) throws {
        let hops = NextHops(ipv4: try v4.map { try IPv4Address($0) }, ipv6: try v6.map { try IPv6Address($0) }, interface: "eth0")
        var attrs = PathAttributes()
        attrs.nextHopIPv6 = try explicit.map { try IPv6Address($0) }
        let out = Self.session(dualStack: true).sessionAttributes(attrs, family: family, nextHops: hops)
        let got = family == .ipv4 ? out?.nextHop?.description : out?.nextHopIPv6?.description
        #expect(got == expected)
        #expect(got?.hasPrefix("::ffff:") != true)
        if expected == nil, case .failure(let missing) = hops.address(for: family) {
            #expect(missing.description.contains("on eth0 to use as the \(family == .ipv4 ? "IPv4" : "IPv6") next hop"), "\(missing)")
        }
    }

    /// The loopback interface: an IPv4 session from 127.0.0.1 finds its interface; a link-local IPv6 is never a next hop.
    @Test("next hops are read from the session's interface")
    func fromKernel() throws {
        let hops = NextHops.forSession(local: .v4(IPv4Address(127, 0, 0, 1)))
        #expect(hops.interface == "lo" && hops.ipv4 == IPv4Address(127, 0, 0, 1))
        #expect(NextHops.forSession(local: .v6(try IPv6Address("fe80::1"))).ipv6 == nil)
    }
}

import LinkLayer
import Logging
import NIOCore
import NetworkPrimitives
import Synchronization
import Testing
@testable import PacketSocket
@testable import SpeakerRuntime

/// The announcer's per-frame path (no sockets): answers, counts with MetalLB's metric names and `ip` label, and
/// reports conflicts once per (address, MAC) in the log while counting every one.
@Suite("Layer 2 hot path and metrics")
struct HotStateTests {
    let us = MACAddress(0x02, 0, 0, 0, 0, 1)
    let them = MACAddress(0x02, 0, 0, 0, 0, 2)
    let vip = IPv4Address(192, 0, 2, 100)

    @Test("answers and counts requests, responses, refusals and conflicts")
    func counts() throws {
        let metrics = LayerTwoMetrics()
        let conflicts = Mutex(0)
        let hot = HotState(metrics: metrics, logger: Logger(label: "test")) { _ in conflicts.withLock { $0 += 1 } }
        _ = hot.replace([7: NeighborResponder(mac: us, ownedIPv4: [vip])], endpoints: [:], withdrawn: [])
        let request = ARPPacket(operation: .request, senderMAC: them, senderIP: IPv4Address(192, 0, 2, 50), targetMAC: .zero, targetIP: vip)
            .frame(from: them).encoded
        #expect(hot.handle(request, interface: 7) != nil)
        #expect(hot.handle(request, interface: 7) != nil)
        #expect(hot.handle(request, interface: 8) == nil, "another interface does not answer")
        var unicastElsewhere = try EthernetFrame(decoding: request)
        unicastElsewhere.destination = MACAddress(0x02, 0, 0, 0, 0, 9)
        #expect(hot.handle(unicastElsewhere.encoded, interface: 7) == nil)
        let claim = ARPPacket.gratuitousRequest(mac: them, ip: vip).frame(from: them).encoded
        #expect(hot.handle(claim, interface: 7) == nil)
        #expect(hot.handle(claim, interface: 7) == nil)
        #expect(metrics.value(.requests, .v4(vip)) == 3)
        #expect(metrics.value(.responses, .v4(vip)) == 2)
        #expect(metrics.value(.conflicts, .v4(vip)) == 2)
        var text = ""
        metrics.write(into: &text)
        #expect(text.contains("# TYPE metallb_layer2_requests_received counter\nmetallb_layer2_requests_received{ip=\"192.0.2.100\"} 3\n"))
        #expect(text.contains("metallb_layer2_responses_sent{ip=\"192.0.2.100\"} 2\n"))
        #expect(!text.contains("metallb_layer2_gratuitous_sent"), "a family with no samples is not written")
        #expect(conflicts.withLock { $0 } == 2)
        #expect(MemoryLayout<LayerTwoMetrics.Key>.stride == 24, "a counter's key: the address, then the kind")
        // Released: no more answers, at once.
        _ = hot.replace([:], endpoints: [:], withdrawn: [.v4(vip)])
        #expect(hot.handle(request, interface: 7) == nil)
    }

    /// RFC 5227 §2.4 (c): a conflicting claim is answered with one gratuitous frame of our own per 10 s, so the
    /// neighbours come back and the other station (a split brain) hears of us and reports the conflict too.
    @Test("a conflicting claim is defended once per interval")
    func defends() throws {
        let metrics = LayerTwoMetrics()
        let hot = HotState(metrics: metrics, logger: Logger(label: "test")) { _ in }
        let endpoint = LinkEndpoint(name: "eth0", index: 7, mac: us, ipv4: [IPv4Address(192, 0, 2, 11)])
        _ = hot.replace([7: NeighborResponder(mac: us, ownedIPv4: [vip])], endpoints: [7: endpoint], withdrawn: [])
        let claim = ARPPacket.gratuitousRequest(mac: them, ip: vip).frame(from: them).encoded
        let defence = try #require(hot.handle(claim, interface: 7))
        let frame = try EthernetFrame(decoding: defence)
        #expect(frame.source == us && frame.destination == .broadcast)
        #expect(hot.handle(claim, interface: 7) == nil, "only once per DEFEND_INTERVAL")
        #expect(metrics.value(.conflicts, .v4(vip)) == 2)
        #expect(metrics.value(.gratuitous, .v4(vip)) == 1)
    }

    @Test("a released address's burst stops: the generation check; only addresses in a burst are tracked")
    func generations() {
        let hot = HotState(metrics: LayerTwoMetrics(), logger: Logger(label: "test")) { _ in }
        let owning = [7: NeighborResponder(mac: us, ownedIPv4: [vip])]
        let g1 = hot.replace(owning, endpoints: [:], withdrawn: [], bursts: [(7, .v4(vip))])
        #expect(hot.isCurrent(.v4(vip), interface: 7, since: g1))
        _ = hot.replace(owning, endpoints: [:], withdrawn: [])
        #expect(hot.isCurrent(.v4(vip), interface: 7, since: g1), "still announced since g1")
        _ = hot.replace([:], endpoints: [:], withdrawn: [.v4(vip)])
        #expect(hot.burstingCount == 0, "a release ends the burst")
        let g3 = hot.replace(owning, endpoints: [:], withdrawn: [], bursts: [(7, .v4(vip))])
        #expect(!hot.isCurrent(.v4(vip), interface: 7, since: g1), "the old burst must not continue")
        #expect(hot.isCurrent(.v4(vip), interface: 7, since: g3))
        hot.burstsEnded(g1)
        #expect(hot.isCurrent(.v4(vip), interface: 7, since: g3), "the end of an older burst leaves the new one")
        hot.burstsEnded(g3)
        #expect(!hot.isCurrent(.v4(vip), interface: 7, since: g3) && hot.burstingCount == 0, "nothing kept once the burst is over")
        let g4 = hot.replace(owning, endpoints: [:], withdrawn: [])
        #expect(!hot.isCurrent(.v4(vip), interface: 7, since: g4), "no burst, no entry")
    }
}

import Glibc
import LinkLayer
import Logging
import NetworkPrimitives
import Testing
@testable import PacketSocket
@testable import SpeakerRuntime

/// `LayerTwoAnnouncer.update`'s bookkeeping: what it reports added and removed, and what it says is announced, with
/// the announced set kept only as the responders' address sets. On loopback (root: a packet socket), with
/// documentation addresses; the frames it sends stay on lo.
@Suite("Layer 2 announcer updates", .enabled(if: getuid() == 0, "needs root for a packet socket"))
struct AnnouncerUpdateTests {
    @Test("reports added and removed addresses; a changed MAC re-announces; an empty update withdraws everything")
    func updates() async throws {
        let index = Int(if_nametoindex("lo"))
        try #require(index > 0)
        let lo = LinkEndpoint(name: "lo", index: index, mac: MACAddress(0x02, 0, 0, 0, 0x0a, 1))
        let loNewMAC = LinkEndpoint(name: "lo", index: index, mac: MACAddress(0x02, 0, 0, 0, 0x0a, 2))
        let v4 = IPAddress.v4(IPv4Address(192, 0, 2, 77)), v4b = IPAddress.v4(IPv4Address(192, 0, 2, 78))
        let v6 = IPAddress.v6(try IPv6Address("2001:db8::77"))
        let announcer = LayerTwoAnnouncer(schedule: GratuitousSchedule(offsets: [.zero]), logger: Logger(label: "test"))
        let shared = SharedEndpoint(lo)
        let a4 = LayerTwoAnnouncer.Announcement(ip: v4, interface: shared)
        let b4 = LayerTwoAnnouncer.Announcement(ip: v4b, interface: shared)
        let a6 = LayerTwoAnnouncer.Announcement(ip: v6, interface: shared)

        var report = await announcer.update([a4, b4, a6])
        #expect(report.failed.isEmpty, "\(report.failed)")
        #expect(Set(report.added) == [a4, b4, a6] && report.removed.isEmpty)
        #expect(await announcer.announced == [a4, b4, a6])
        let group = MACAddress(0x33, 0x33, 0xff, 0, 0, 0x77)  // ff02::1:ff00:77, the solicited-node group of 2001:db8::77
        #expect(await announcer.joinedGroups(index) == [group])

        // The same set again (a new SharedEndpoint for the same interface): nothing changes.
        let again = SharedEndpoint(lo)
        report = await announcer.update(Set([a4, b4, a6].map { LayerTwoAnnouncer.Announcement(ip: $0.ip, interface: again) }))
        #expect(report.added.isEmpty && report.removed.isEmpty)

        report = await announcer.update([a4])
        #expect(report.added.isEmpty && Set(report.removed.map(\.ip)) == [v4b, v6])
        #expect(await announcer.announced == [a4])
        #expect(await announcer.joinedGroups(index).isEmpty, "no IPv6 address left: the group is left")

        // The interface's MAC changed: the address is announced anew with the new MAC, and the old one is removed.
        let moved = LayerTwoAnnouncer.Announcement(ip: v4, interface: loNewMAC)
        report = await announcer.update([moved])
        #expect(report.added.map(\.interface.mac) == [loNewMAC.mac] && report.removed.map(\.interface.mac) == [lo.mac])
        #expect(await announcer.announced.map(\.interface.mac) == [loNewMAC.mac])

        report = await announcer.update([])
        #expect(report.added.isEmpty && report.removed.map(\.ip) == [v4])
        #expect(await announcer.announced.isEmpty)
    }
}

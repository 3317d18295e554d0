import NetworkPrimitives
@testable import SpeakerRuntime
import Testing

/// Conflict reports on a manual clock: one at the start of an episode, then a summary per interval, whatever the
/// number of frames or stations; state bounded by addresses, not MACs.
@Suite("Conflict tracker")
struct ConflictTrackerTests {
    let vip = IPAddress.v4(IPv4Address(192, 0, 2, 10))

    static func mac(_ n: Int) -> MACAddress {
        MACAddress(0x02, 0, UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff))
    }

    /// 100,000 frames from 100,000 invented MACs over 10 s: one report, one tracked address.
    @Test("a flood from random MACs gives one report and keeps one entry")
    func flood() {
        var t = ConflictTracker()
        var reports: [ConflictTracker.Report] = []
        for i in 0..<100_000 {
            if let r = t.seen(ip: vip, mac: Self.mac(i), interface: "eth0", now: .microseconds(i * 100)) { reports.append(r) }
        }
        #expect(reports.count == 1)
        #expect(reports.first?.continuing == false)
        #expect(t.trackedAddresses == 1)
    }

    /// A conflict that goes on for 10 minutes is summarised once a minute, with the frames and stations counted.
    @Test("a continuing conflict is summarised at most once per interval")
    func summaries() throws {
        var t = ConflictTracker()
        var reports: [ConflictTracker.Report] = []
        for second in 0..<600 {
            for k in 0..<5 {
                if let r = t.seen(ip: vip, mac: Self.mac(k), interface: "eth0", now: .seconds(second)) { reports.append(r) }
            }
        }
        #expect(reports.count == 10)
        let summary = try #require(reports.dropFirst().first)
        #expect(summary.continuing)
        #expect(summary.frames == 300)
        #expect(summary.stations.count == 4 && summary.moreStations)
        #expect(summary.description.contains("300 frames from"))
        #expect(summary.description.contains("and others"))
    }

    /// A handover (both nodes answer until the next heartbeat, and a takeover burst lasts 2 s) is shorter than the
    /// confirmation: counted, never reported. A conflict that lasts is reported once it has lasted 3 s.
    @Test("a conflict is reported only once it has lasted the confirmation time")
    func confirmation() {
        var t = ConflictTracker()
        for ms in stride(from: 0, through: 2_900, by: 10) {
            #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(ms)) == nil)
        }
        // Quiet for a minute: the next frame starts a new episode, again unconfirmed.
        #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .seconds(70)) == nil)
        let r = t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(73_200))
        #expect(r?.continuing == false && r?.frames == 2, "\(String(describing: r))")
    }

    /// A conflict that just began asks for a probe (once per episode); the answer, after the confirmation time,
    /// is what reports it.
    @Test("a new episode asks for one probe; the answer past the confirmation reports it")
    func probe() {
        var t = ConflictTracker()
        #expect(t.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .zero) == .init(report: nil, probe: true))
        #expect(t.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(500)) == .init(report: nil, probe: false))
        let answer = t.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(3_100))
        #expect(answer.report?.continuing == false && !answer.probe)
        #expect(t.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .seconds(200)).probe, "a new episode after a quiet minute")
    }

    /// Two handovers five seconds apart (each a few frames within a second) are two unconfirmed episodes, never
    /// one conflict that lasted; a single frame answered by the probe 3.1 s later is one.
    @Test("separate handovers do not add up to a conflict")
    func separateHandovers() {
        var t = ConflictTracker()
        for start in stride(from: 0, to: 60_000, by: 5_000) {
            for ms in [0, 250, 500, 900] {
                #expect(t.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(start + ms)).report == nil, "at \(start + ms) ms")
            }
        }
        var u = ConflictTracker()
        #expect(u.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .zero).probe)
        #expect(u.observe(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(3_100)).report != nil)
    }

    /// After a quiet interval a new conflict is a new episode; a withdrawn address forgets its own.
    @Test("quiet and withdrawn addresses start new episodes")
    func episodes() {
        var t = ConflictTracker()
        #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .seconds(0)) == nil)
        #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(3_200))?.continuing == false)
        #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .seconds(30)) == nil)
        #expect(t.recentlyConflicted(now: .seconds(31), within: .seconds(10)) == [vip])
        #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .seconds(91)) == nil, "a new episode, unconfirmed")
        #expect(t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .milliseconds(94_500))?.continuing == false)
        t.withdraw([vip])
        #expect(t.trackedAddresses == 0)
        #expect(t.recentlyConflicted(now: .seconds(95), within: .seconds(10)).isEmpty)
        _ = t.seen(ip: vip, mac: Self.mac(1), interface: "eth0", now: .seconds(96))
        t.expire(now: .seconds(200))
        #expect(t.trackedAddresses == 0)
    }

    /// Addresses beyond the limit push out the quietest episode: the table never exceeds it.
    @Test("the address table is bounded")
    func bounded() {
        var t = ConflictTracker()
        t.addressLimit = 16
        for i in 0..<1000 {
            let ip = IPAddress.v4(IPv4Address(198, 51, 100, UInt8(i % 250)))
            _ = t.seen(ip: ip, mac: Self.mac(i), interface: "eth0", now: .milliseconds(i))
            #expect(t.trackedAddresses <= 16)
        }
    }
}

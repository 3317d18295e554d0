import ArgumentParser
import BeaconLab
import Foundation

/// `beacon-lab demo` (`make demo`): builds the site, shows Beacon at work with timings, fails a node, explains,
/// and tears everything down, also on Ctrl-C or failure.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the whole demo and clean up (root).")

    func run() async throws {
        try Site.requireRoot()
        guard !FileManager.default.fileExists(atPath: Site.statePath) else {
            throw ValidationError("a lab is up (beacon-lab up); run beacon-lab down first")
        }
        let start = ContinuousClock.now
        // Lab.with tears everything down on success, failure, Ctrl-C or SIGTERM.
        do {
            try await Lab.with(Site.options) { lab in
                do {
                    try await show(lab, start: start)
                } catch {
                    print("\nFAILED: \(error)\nlogs: \(Site.workDirectory)/*.log (tails below)")
                    for name in ["controller", "node1", "node2", "node3"] {
                        if let p = lab.process(name) { print("--- \(name) ---\n" + p.log.split(separator: "\n").suffix(10).joined(separator: "\n")) }
                    }
                    throw error
                }
            }
        } catch {
            throw ExitCode(1)
        }
        let left = await Lab.leftovers(prefix: Site.prefix)
        print("\n== 8. Teardown: \(left.isEmpty ? "all namespaces and processes removed" : "LEFT: \(left)") (demo took \(seconds(ContinuousClock.now - start)) s)")
        if !left.isEmpty { throw ExitCode(1) }
    }

    func step(_ n: Int, _ title: String) { print("\n== \(n). \(title)") }

    func show(_ lab: Lab, start: ContinuousClock.Instant) async throws {
        step(1, "Build an on-prem site in network namespaces")
        print("""
              segment 192.0.2.0/24: router .1 (BIRD), API server .2, node1-3 .11-.13, client .50
              behind the router 198.51.100.0/24: far client .50
            """)
        let t0 = ContinuousClock.now
        let (l2, bgp) = try await Site.build(lab) { print("  \($0)") }
        print("  ready in \(seconds(ContinuousClock.now - t0)) s")

        step(2, "Services and their addresses (kubectl against the emulator)")
        print(try await lab.kubectl(["get", "svc", "-n", "default", "-o", "wide"]).output.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

        step(3, "Who answers ARP for \(l2) (layer 2)")
        var owner = 0
        let t3 = ContinuousClock.now
        while owner == 0 {
            let macs = try await lab.arpingMACs(l2, count: 1)
            if macs.count == 1, let n = try await lab.node(withMAC: macs[0]) { owner = n; print("  arping from the client: \(macs[0]) = \(lab.nodeName(n)), the only node answering") }
            guard ContinuousClock.now - t3 < .seconds(30) else { throw LabError("nobody answers ARP for \(l2)") }
        }
        let statusObjects = try await lab.kubectl(["get", "servicel2statuses", "-n", "metallb-system", "-o",
                                                   "jsonpath={range .items[*]}{.metadata.name}: node {.status.node}, service {.status.serviceNamespace}/{.status.serviceName}{\"\\n\"}{end}"]).output
        print("  ServiceL2Status: " + statusObjects.trimmingCharacters(in: .whitespacesAndNewlines))

        step(4, "BIRD's routes for \(bgp) (BGP, ECMP over every node)")
        var hops: [String] = []
        let t4 = ContinuousClock.now
        while hops.count < 3 {
            hops = try await lab.routerNextHops("\(bgp)/32")
            guard ContinuousClock.now - t4 < .seconds(30) else { throw LabError("the router has no ECMP route for \(bgp): \(hops)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let bird = try await lab.birdc(["show", "route", "for", bgp])
        print(bird.split(separator: "\n").dropFirst().map { "  " + $0 }.joined(separator: "\n"))
        print("  kernel: \(bgp) via \(hops.joined(separator: ", "))")

        step(5, "curl through the service addresses")
        for (ns, where_, ip) in [(lab.clientNS, "client on the segment", l2), (lab.farClientNS, "client behind the router", bgp), (lab.farClientNS, "client behind the router", l2)] {
            let t = ContinuousClock.now
            let r = try await lab.curl("http://\(ip)/", from: ns)
            guard r.status == 0 else { throw LabError("curl http://\(ip)/ from the \(where_) failed: \(r.error)") }
            print("  \(where_) -> http://\(ip)/: \(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) (\(String(format: "%.0f", Double((ContinuousClock.now - t).components.attoseconds) / 1e15)) ms)")
        }

        step(6, "Node failure: \(lab.nodeName(owner)) dies (speaker SIGKILLed, link down)")
        let capture = try Capture(lab: lab)
        defer { capture.stop() }
        let pinger = try Pinger(lab: lab, ip: l2)
        defer { pinger.stop() }
        try await Task.sleep(for: .milliseconds(500))
        let killedAt = Date().timeIntervalSince1970
        try await lab.killNode(owner)
        let downAt = Date().timeIntervalSince1970
        var macs = Set<String>()
        for i in lab.nodeIndices where i != owner { macs.insert(try await lab.nodeMAC(i)) }
        var garp: Double?, ping: Double?
        let t6 = ContinuousClock.now
        while garp == nil || ping == nil {
            garp = capture.firstGratuitous(for: l2, fromAnyOf: macs, after: killedAt)
            ping = pinger.firstReply(after: downAt)
            guard ContinuousClock.now - t6 < .seconds(10) else { throw LabError("no takeover within 10 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        print("  new owner's first gratuitous ARP at the client: \(String(format: "%.0f", (garp! - killedAt) * 1000)) ms after the kill")
        print("  first ping reply through \(l2): \(String(format: "%.0f", (ping! - killedAt) * 1000)) ms after the kill (keepalived's default takes about 3 s)")
        let after = try await lab.curl("http://\(l2)/", from: lab.clientNS)
        print("  curl http://\(l2)/ now: \(after.output.trimmingCharacters(in: .whitespacesAndNewlines))")

        step(7, "speaker explain default/web, asked on a surviving node")
        let survivor = try lab.nodeIndices.first { $0 != owner }.unwrapOrThrow()
        let explain = try await lab.speakerCLI(survivor, ["explain", "default/web"]).output
        print(explain.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    }
}

extension Optional {
    func unwrapOrThrow() throws -> Wrapped {
        guard let v = self else { throw LabError("missing value") }
        return v
    }
}

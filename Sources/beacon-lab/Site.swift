import ArgumentParser
import BeaconLab
import Foundation

/// The lab `up` and `demo` build: the controller, a speaker per node, backends, the example configuration and two
/// Services (one layer 2, one BGP) with endpoints on every node and the nodes' NAT programmed.
enum Site {
    static let statePath = "/run/beacon-lab/state"
    static let prefix = "blab"
    static let workDirectory = "/tmp/beacon-lab"

    static func requireRoot() throws {
        guard getuid() == 0 else {
            throw ValidationError("beacon-lab needs root: it creates network namespaces, veth pairs and raw sockets (try: sudo make demo)")
        }
    }

    static var options: Lab.Options {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        var options = Lab.Options(prefix: prefix, binDirectory: bin, workDirectory: workDirectory)
        options.logLevel = "info"
        return options
    }

    static func makeLab() -> Lab { Lab(options: options) }

    /// Builds everything; returns the two Services' addresses.
    static func build(_ lab: Lab, say: (String) -> Void) async throws -> (l2: String, bgp: String) {
        if !lab.isUp { try await lab.up() }
        say("network, API server (kube-emulator at \(lab.apiIPv4):6443) and router (BIRD, AS 64512) are up")
        try await lab.startExample()
        say("controller, 3 speakers (speaker run) and 3 backends started")
        say("configuration applied with kubectl: pool lan 192.0.2.200-219 (layer 2), pool routed 203.0.113.0/24 without .0 and .255 (BGP to the router)")
        let l2 = try await lab.exampleServiceAddress("web", pool: "lan", timeout: .seconds(60))
        let bgp = try await lab.exampleServiceAddress("api", pool: "routed", timeout: .seconds(60))
        return (l2, bgp)
    }
}

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Build the site and leave it running (beacon-lab down removes it).")

    func run() async throws {
        try Site.requireRoot()
        guard !FileManager.default.fileExists(atPath: Site.statePath) else {
            throw ValidationError("a lab is already up (\(Site.statePath)); run beacon-lab down first")
        }
        let lab = Site.makeLab()
        let start = ContinuousClock.now
        do {
            let (l2, bgp) = try await Site.build(lab) { print("  \($0)") }
            try FileManager.default.createDirectory(atPath: "/run/beacon-lab", withIntermediateDirectories: true)
            try "\(Site.prefix) \(Site.workDirectory)\n".write(toFile: Site.statePath, atomically: true, encoding: .utf8)
            print("""
                lab up in \(seconds(ContinuousClock.now - start)) s: Service default/web \(l2) (layer 2), default/api \(bgp) (BGP)
                try:
                  ip netns exec \(lab.clientNS) curl http://\(l2)/
                  ip netns exec \(lab.farClientNS) curl http://\(bgp)/
                  ip netns exec \(lab.nodeNS(1)) \(lab.options.binDirectory)/speaker status
                  ip netns exec \(lab.apiNS) kubectl --kubeconfig \(lab.kubeconfig) get svc,servicel2statuses -A
                  beacon-lab status | fail node2 | heal node2 | down
                """)
        } catch {
            await lab.down()
            throw error
        }
    }
}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the lab's processes and remove its namespaces.")

    func run() async throws {
        try Site.requireRoot()
        await Lab.down(prefix: Site.prefix, workDirectory: Site.workDirectory)
        try? FileManager.default.removeItem(atPath: Site.statePath)
        try? FileManager.default.removeItem(atPath: Site.workDirectory)
        let left = await Lab.leftovers(prefix: Site.prefix)
        print(left.isEmpty ? "lab down" : "still there: \(left.joined(separator: " "))")
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the lab: Services, who answers ARP, the router's routes, the speakers.")

    func run() async throws {
        try Site.requireRoot()
        guard FileManager.default.fileExists(atPath: Site.statePath) else { print("no lab is up"); return }
        let lab = Site.makeLab()
        print(try await lab.kubectl(["get", "svc", "-A", "-o", "wide"]).output)
        let l2 = try await lab.serviceAddresses("web").first ?? ""
        let bgp = try await lab.serviceAddresses("api").first ?? ""
        if !l2.isEmpty {
            var owners: [String] = []
            for mac in try await lab.arpingMACs(l2) { owners.append(try await lab.node(withMAC: mac).map(lab.nodeName) ?? mac) }
            print("ARP for \(l2) answered by: \(owners.isEmpty ? "nobody" : owners.joined(separator: ", "))")
        }
        if !bgp.isEmpty { print("router next hops for \(bgp)/32: \(try await lab.routerNextHops("\(bgp)/32").joined(separator: ", "))") }
        for i in lab.nodeIndices {
            let r = try await lab.speakerCLI(i, ["status"], check: false)
            print("--- \(lab.nodeName(i)) ---\n" + (r.status == 0 ? r.output : "speaker not answering"))
        }
    }
}

struct Fail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Kill a node: its speaker is SIGKILLed and its link goes down.")
    @Argument(help: "node1, node2 or node3") var node: String

    func run() async throws {
        try Site.requireRoot()
        let lab = Site.makeLab()
        let i = try Site.nodeIndex(lab, node)
        if let pid = pidOf(lab.nodeName(i)) { kill(pid, SIGKILL) }
        try await Shell.run(["ip", "-n", lab.nodeNS(i), "link", "set", "eth0", "down"])
        print("\(node): speaker killed, link down")
    }
}

struct Heal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring a failed node back: link up, speaker restarted.")
    @Argument(help: "node1, node2 or node3") var node: String

    func run() async throws {
        try Site.requireRoot()
        let lab = Site.makeLab()
        let i = try Site.nodeIndex(lab, node)
        try await lab.healNode(i)
        // Keep the PID list complete for `down`: the new speaker joins the recorded ones.
        let path = Site.workDirectory + "/pids"
        var lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        // A node whose speaker still runs only gets its link back: a second speaker would leak (and fight the first).
        let recorded = lines.last { $0.hasSuffix(" \(lab.nodeName(i))") }.flatMap { Int32($0.split(separator: " ")[0]) }
        if let pid = recorded, Self.isSpeaker(pid) {
            print("\(node): link up; its speaker (pid \(pid)) is running, so none was started")
            return
        }
        let p = try lab.startSpeaker(i)
        lines.removeAll { $0.hasSuffix(" \(lab.nodeName(i))") }
        lines.append("\(p.pid) \(lab.nodeName(i))")
        try? (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        print("\(node): link up, speaker restarted (pid \(p.pid))")
    }
}

extension Heal {
    /// Whether `pid` is a live `speaker` process (not a PID the kernel has since given to something else).
    static func isSpeaker(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return cmdline.split(separator: 0).contains { String(decoding: $0, as: UTF8.self).hasSuffix("/speaker") }
    }
}

extension Site {
    /// `node2` → 2, or a usage error naming the nodes there are.
    static func nodeIndex(_ lab: Lab, _ node: String) throws -> Int {
        guard let i = lab.nodeIndices.first(where: { lab.nodeName($0) == node }) else {
            throw ValidationError("no node \(node) (have: \(lab.nodeIndices.map(lab.nodeName).joined(separator: ", ")))")
        }
        return i
    }
}

/// The PID `up` recorded for a lab process.
func pidOf(_ name: String) -> Int32? {
    let text = (try? String(contentsOfFile: Site.workDirectory + "/pids", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        if parts.count == 2, parts[1] == name { return Int32(parts[0]) }
    }
    return nil
}

func seconds(_ d: Duration) -> String {
    let (s, a) = d.components
    return String(format: "%.1f", Double(s) + Double(a) / 1e18)
}

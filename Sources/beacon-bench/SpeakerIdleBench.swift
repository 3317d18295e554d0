import ArgumentParser
import BeaconLab
import Foundation
import SpeakerRuntime

/// `beacon-bench speaker-idle`: one node's `speaker run` announcing N layer 2 addresses (IPv6, so N can be 10,000
/// inside documentation space), then idle: resident memory and CPU, read from /proc (root).
struct SpeakerIdleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "speaker-idle", abstract: "Speaker memory and CPU when idle with N announced IPs (root).")

    @Option(help: "Services (one IPv6 address each).") var services = 10_000
    @Option(help: "Seconds of idle to measure CPU over.") var seconds = 10.0
    @Flag(help: "Leave the speaker binary's pages in the page cache (as right after an image is unpacked) instead of dropping them first.")
    var warm = false
    @Option(help: "Seconds to keep the idle speaker running after measuring (its PID is printed), for /proc/PID/smaps and gdb.")
    var hold = 0.0

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("beacon-bench speaker-idle needs root (network namespaces)") }
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        var options = Lab.Options(prefix: "bi\(id)", binDirectory: bin, workDirectory: NSTemporaryDirectory() + "beacon-idle-\(id)")
        options.nodes = 1
        options.logLevel = "warning"
        try await Lab.with(options) { lab in try await measure(lab) }
    }

    func measure(_ lab: Lab) async throws {
        try await lab.startController()
        // File-backed memory counts the binary's pages the kernel maps around each page the speaker touches (64 KB
        // of fault-around), but only pages already in the page cache: a binary just written (linked, copied,
        // unpacked) maps about 2 MB more than one read on demand. Runs compare alike only from the same state.
        let binary = URL(fileURLWithPath: lab.binary("speaker")).resolvingSymlinksInPath().path
        if !warm { dropFromPageCache(binary) }
        // The code the binary carries (binutils' `size`), beside what of it is resident below.
        let sizes = try await Shell.run(["size", "-A", binary], check: false).output
        let text = sizes.split(separator: "\n").first { $0.hasPrefix(".text ") }?.split(separator: " ", omittingEmptySubsequences: true)
            .dropFirst().first.flatMap { Double($0) }.map { String(format: "%.2f", $0 / 1_048_576) } ?? "null"
        let speaker = try lab.startSpeaker(1)
        try await Task.sleep(for: .seconds(1))
        let baseline = rss(speaker.pid)
        try await lab.kubectl(["apply", "-f", "-"], input: """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: many, namespace: metallb-system}
            spec: {addresses: ["2001:db8::1:0/112"]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: many, namespace: metallb-system}
            spec: {ipAddressPools: [many]}
            """)
        var items: [String] = []
        for i in 0..<services {
            items.append("""
                {"apiVersion":"v1","kind":"Service","metadata":{"name":"s\(i)","namespace":"default"},"spec":{"type":"LoadBalancer",\
                "ipFamilyPolicy":"SingleStack","ipFamilies":["IPv6"],"selector":{"app":"s\(i)"},"ports":[{"port":80,"protocol":"TCP"}]}}
                """)
            items.append("""
                {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"s\(i)-lab","namespace":"default",\
                "labels":{"kubernetes.io/service-name":"s\(i)"}},"addressType":"IPv4","ports":[{"port":80,"protocol":"TCP"}],\
                "endpoints":[{"addresses":["\(lab.nodeIPv4(1))"],"conditions":{"ready":true,"serving":true},"nodeName":"\(lab.nodeName(1))"}]}
                """)
        }
        let start = ContinuousClock.now
        try await lab.kubectl(["create", "--validate=false", "-f", "-"], input: #"{"apiVersion":"v1","kind":"List","items":["# + items.joined(separator: ",") + "]}")
        say(#"{"bench":"speaker-idle","step":"created","services":\#(services),"seconds":\#(seconds(ContinuousClock.now - start))}"#)
        var announced = 0
        while announced < services {
            guard ContinuousClock.now - start < .seconds(600) else { throw LabError("only \(announced) of \(services) announced after 600 s") }
            try await Task.sleep(for: .seconds(1))
            // The state `speaker status` shows, without the CLI's 5 s deadline (on a slow machine, building it for
            // 10,000 Services can take longer, and requests abandoned by the CLI would pile up).
            let status = try await Shell.inNamespace(lab.nodeNS(1), ["curl", "-s", "-m", "300", "http://127.0.0.1:7474/debug/state"], check: false).output
            announced = (try? JSONDecoder().decode(DebugState.self, from: Data(status.utf8)))?.layer2.count ?? 0
        }
        say(#"{"bench":"speaker-idle","step":"announced","services":\#(services),"seconds":\#(seconds(ContinuousClock.now - start)),"rss_mb":\#(String(format: "%.1f", rss(speaker.pid)))}"#)
        // Idle means the status objects (one ServiceL2Status per Service) are written too.
        var written = 0
        while written < services {
            guard ContinuousClock.now - start < .seconds(900) else { throw LabError("only \(written) ServiceL2Status objects after 900 s") }
            try await Task.sleep(for: .seconds(5))
            written = try await lab.kubectl(["get", "servicel2statuses", "-n", "metallb-system", "-o", "name"]).output.split(separator: "\n").count
        }
        say(#"{"bench":"speaker-idle","step":"status written","services":\#(services),"seconds":\#(seconds(ContinuousClock.now - start))}"#)
        // Then the nodeAssigned events (one per Service, posted after the status objects): idle starts when the
        // speaker's API write counter has not moved for 5 s.
        func writes() async throws -> String {
            let metrics = try await Shell.inNamespace(lab.nodeNS(1), ["curl", "-s", "http://127.0.0.1:7473/metrics"], check: false).output
            return metrics.split(separator: "\n").first { $0.hasPrefix("metallb_k8s_client_updates_total") }.map(String.init) ?? ""
        }
        var last = try await writes()
        while true {
            guard ContinuousClock.now - start < .seconds(1200) else { throw LabError("the speaker was still writing after 1200 s") }
            try await Task.sleep(for: .seconds(5))
            let now = try await writes()
            if now == last { break }
            last = now
        }
        say(#"{"bench":"speaker-idle","step":"writes done","services":\#(services),"seconds":\#(seconds(ContinuousClock.now - start))}"#)
        let cpu0 = cpuSeconds(speaker.pid)
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        let cpu1 = cpuSeconds(speaker.pid)
        let wall = seconds(ContinuousClock.now - t0)
        let rssMB = rss(speaker.pid)
        let metrics = try await Shell.inNamespace(lab.nodeNS(1), ["curl", "-s", "http://127.0.0.1:7473/metrics"], check: false).output
        func heap(_ state: String) -> String {
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("beacon_process_heap_bytes{state=\"\(state)\"}") }
            return String(format: "%.1f", (line?.split(separator: " ").last.flatMap { Double($0) } ?? 0) / 1_048_576)
        }
        say(#"{"bench":"speaker-idle","services":\#(services),"rss_mb":\#(String(format: "%.1f", rssMB)),"heap_in_use_mb":\#(heap("in_use")),"heap_free_mb":\#(heap("free")),"rss_anon_mb":\#(String(format: "%.1f", rss(speaker.pid, "RssAnon:"))),"rss_file_mb":\#(String(format: "%.1f", rss(speaker.pid, "RssFile:"))),"rss_before_mb":\#(String(format: "%.1f", baseline)),"cpu_percent":\#(String(format: "%.2f", (cpu1 - cpu0) / wall * 100)),"page_cache":"\#(warm ? "warm" : "cold")","text_mb":\#(text)}"#)
        if hold > 0 {
            say(#"{"bench":"speaker-idle","step":"holding","pid":\#(speaker.pid),"seconds":\#(hold)}"#)
            try await Task.sleep(for: .milliseconds(Int(hold * 1000)))
        }
    }

    /// Drops a file's pages from the page cache (pages other processes map stay). A file just written has dirty
    /// pages, which the advice skips: they are written back first.
    func dropFromPageCache(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// VmRSS (or another /proc/PID/status field) in MB.
    func rss(_ pid: Int32, _ field: String = "VmRSS:") -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
        }
        return 0
    }

    /// utime + stime in seconds.
    func cpuSeconds(_ pid: Int32) -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

import BeaconVersion
import ArgumentParser
import Foundation
import LoadBalancerConfig

/// `beacon-bench`: performance figures, printed as JSON lines. Run release builds (`make bench`).
@main
struct BeaconBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-bench",
        abstract: "Beacon's benchmarks; each prints its figures as JSON lines.",
        version: BeaconVersion.string,
        subcommands: [ConfigBench.self, AllocBench.self, KubeBench.self, ControllerBench.self, LayerTwoBench.self, BGPBench.self, FailoverBench.self, SpeakerIdleBench.self, BFDBench.self, AttackBench.self, AttackAgent.self]
    )
}

/// Times YAML parsing and validation of a large generated configuration.
struct ConfigBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Parse and validate a generated configuration (default: 1,000 pools, 500 advertisements, 500 peers)."
    )

    @Option(help: "IPAddressPools to generate.") var pools = 1000
    @Option(help: "Advertisements to generate (half L2, half BGP).") var advertisements = 500
    @Option(help: "BGPPeers to generate.") var peers = 500
    @Option(help: "Timed runs; the median and the slowest are reported.") var runs = 7

    func run() throws {
        let yaml = Self.generate(pools: pools, advertisements: advertisements, peers: peers)
        let source = ConfigSource(name: "bench.yaml", text: yaml)
        let loader = ConfigurationLoader()
        var total: [Double] = [], parse: [Double] = [], validate: [Double] = []
        var objects = 0
        for _ in 0..<runs {
            let t0 = ContinuousClock.now
            let documents = try loader.reader.documents(source).get()
            let t1 = ContinuousClock.now
            let loaded = try loader.load(documents: documents)
            let t2 = ContinuousClock.now
            objects = loaded.resources.count
            parse.append((t1 - t0).seconds)
            validate.append((t2 - t1).seconds)
            total.append((t2 - t0).seconds)
        }
        let record: [String: Any] = [
            "benchmark": "config-validate",
            "anchor_pyyaml_parse_median_s": try Self.pyyamlParse(yaml, runs: runs) as Any,
            "objects": objects, "pools": pools, "advertisements": advertisements, "peers": peers,
            "yaml_bytes": yaml.utf8.count, "runs": runs,
            "parse_median_s": median(parse), "validate_median_s": median(validate),
            "total_median_s": median(total), "total_max_s": total.max() ?? 0,
        ]
        print(try jsonLine(record))
    }

    /// The anchor: PyYAML's libyaml loader (`yaml.CSafeLoader`, what Python tools use to read Kubernetes YAML) parsing
    /// the same text in the same run, timed inside Python (its start-up excluded). Nil without python3-yaml.
    static func pyyamlParse(_ yaml: String, runs: Int) throws -> Double? {
        let file = NSTemporaryDirectory() + "beacon-bench-config-\(getpid()).yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let script = """
            import statistics, sys, time, yaml
            text = open(sys.argv[1]).read()
            times = []
            for _ in range(int(sys.argv[2])):
                t = time.perf_counter(); list(yaml.load_all(text, Loader=yaml.CSafeLoader)); times.append(time.perf_counter() - t)
            print(statistics.median(times))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, file, "\(runs)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    /// A realistic large configuration: distinct /24 pools (some dual-stack), L2 and BGP advertisements that select
    /// pools by name and by label, peers with node selectors and timers.
    static func generate(pools: Int, advertisements: Int, peers: Int) -> String {
        var out: [String] = []
        out.reserveCapacity(pools + advertisements + peers + 1)
        out.append("""
            apiVersion: metallb.io/v1beta1
            kind: Community
            metadata: {name: aliases, namespace: metallb-system}
            spec:
              communities:
              - {name: gold, value: "65000:100"}
              - {name: big, value: "large:64512:1:2"}
            """)
        for i in 0..<pools {
            let v6 = i % 4 == 0 ? "\n  - 2001:db8:\(String(i, radix: 16))::/64" : ""
            out.append("""
                apiVersion: metallb.io/v1beta1
                kind: IPAddressPool
                metadata:
                  name: pool-\(i)
                  namespace: metallb-system
                  labels: {tier: t\(i % 10), zone: z\(i % 3)}
                spec:
                  addresses:
                  - 10.\(i / 256).\(i % 256).0/24\(v6)
                  avoidBuggyIPs: \(i % 2 == 0)
                  serviceAllocation:
                    priority: \(i % 5)
                    namespaces: [team-\(i % 20)]
                """)
        }
        for i in 0..<advertisements {
            if i % 2 == 0 {
                out.append("""
                    apiVersion: metallb.io/v1beta1
                    kind: L2Advertisement
                    metadata: {name: l2-\(i), namespace: metallb-system}
                    spec:
                      ipAddressPools: [pool-\(i % max(pools, 1))]
                      interfaces: [eth0, eth1]
                      nodeSelectors: [{matchLabels: {rack: r\(i % 16)}}]
                    """)
            } else {
                out.append("""
                    apiVersion: metallb.io/v1beta1
                    kind: BGPAdvertisement
                    metadata: {name: bgp-\(i), namespace: metallb-system}
                    spec:
                      ipAddressPoolSelectors: [{matchLabels: {tier: t\(i % 10)}}]
                      aggregationLength: 32
                      localPref: 100
                      communities: [gold, big, no-export, "65001:\(i)"]
                      nodeSelectors: [{matchExpressions: [{key: rack, operator: In, values: [r\(i % 16), r\((i + 1) % 16)]}]}]
                    """)
            }
        }
        for i in 0..<peers {
            out.append("""
                apiVersion: metallb.io/v1beta2
                kind: BGPPeer
                metadata: {name: peer-\(i), namespace: metallb-system}
                spec:
                  myASN: 64512
                  peerASN: \(65000 + i % 100)
                  peerAddress: 172.\(16 + i / 65536 % 16).\(i / 256 % 256).\(i % 256)
                  holdTime: 9s
                  keepaliveTime: 3s
                  nodeSelectors: [{matchLabels: {rack: r\(i % 16)}}]
                """)
        }
        return out.joined(separator: "\n---\n")
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

func jsonLine(_ object: [String: Any]) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) * 1e-18
    }
}

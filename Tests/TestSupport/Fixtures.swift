import Foundation
import KubernetesModel
import LoadBalancerConfig
import Netlink

/// Builders for the objects the root-free tests plan from: configuration in YAML, Nodes, Services, EndpointSlices and
/// the kernel's view of an interface. Each sets only what a test usually varies; the rest is a plain default.
public enum Fixture {
    /// A configuration from YAML documents, validated as the daemons validate it.
    public static func configuration(_ yaml: String) throws -> Configuration {
        try ConfigurationLoader().load([ConfigSource(name: "test.yaml", text: yaml)]).configuration
    }

    /// A pool of 192.0.2.0/24 and 2001:db8::/64 named `pool`, with an L2Advertisement `l2` for it.
    public static let layer2Pool = """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: pool, namespace: metallb-system}
        spec: {addresses: [192.0.2.0/24, "2001:db8::/64"]}
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {name: l2, namespace: metallb-system}
        spec: {ipAddressPools: [pool]}

        """

    /// A Node; `unavailable` sets the NetworkUnavailable condition; `internalIP` its InternalIP address.
    public static func node(_ name: String, labels: [String: String] = [:], unavailable: Bool = false, internalIP: String? = nil) -> Node {
        Node(metadata: ObjectMeta(name: name, labels: labels),
             status: NodeStatus(addresses: internalIP.map { [NodeAddress(type: "InternalIP", address: $0)] } ?? [],
                                conditions: unavailable ? [NodeCondition(type: "NetworkUnavailable", status: "True")] : []))
    }

    /// A LoadBalancer Service in `default` with `ip` as its ingress; `local` sets externalTrafficPolicy Local.
    public static func service(_ name: String, ip: String, local: Bool = false, labels: [String: String]? = nil, uid: String? = nil) -> Service {
        var spec = ServiceSpec(type: "LoadBalancer", ports: [ServicePortSpec(port: 80)])
        if local { spec.externalTrafficPolicy = "Local" }
        var metadata = ObjectMeta(name: name, namespace: "default", labels: labels)
        metadata.uid = uid
        return Service(metadata: metadata, spec: spec,
                       status: ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: ip)])))
    }

    /// The Service's EndpointSlice with one endpoint on each of `nodes`.
    public static func endpoints(_ service: String, on nodes: [String], ready: Bool = true) -> EndpointSlice {
        EndpointSlice(metadata: ObjectMeta(name: "\(service)-x", namespace: "default", labels: ["kubernetes.io/service-name": service]),
                      endpoints: nodes.enumerated().map {
                          Endpoint(addresses: ["10.0.0.\($0.offset + 1)"], conditions: EndpointConditions(ready: ready), nodeName: $0.element)
                      })
    }

    /// An Ethernet interface that is up, with broadcast: index `index`, MAC 02:00:00:00:00:`index`, and `addresses`
    /// ("address/prefix").
    public static func interface(_ name: String, index: Int, addresses: [String], up: Bool = true) -> NetworkInterface {
        NetworkInterface(index: index, name: name, mac: String(format: "02:00:00:00:00:%02x", index), mtu: 1500,
                         flags: up ? 0x1 | 0x2 | 0x40 : 0x2, operState: up ? "up" : "down", masterIndex: nil, kind: "veth",
                         addresses: addresses)
    }
}

/// Runs a program and waits for it: its exit status and what it wrote to stdout and stderr together.
public func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Feeds every file of a kept fuzz corpus to a fuzzer's own entry point; returns how many there were.
public func replayCorpus(_ directory: URL, into fuzzOne: (UnsafeBufferPointer<UInt8>) -> Void) throws -> Int {
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    for file in files {
        guard let data = FileManager.default.contents(atPath: directory.path + "/" + file) else { continue }
        data.withUnsafeBytes { fuzzOne($0.bindMemory(to: UInt8.self)) }
    }
    return files.count
}

import Foundation

extension Lab {
    /// The example configuration the demo, the lab tests and the failover benchmark share: pool `lan`
    /// (192.0.2.200–219 and 2001:db8::200–21f, layer 2) and pool `routed` (203.0.113.0/24 without .0 and .255,
    /// which some clients still treat as network and broadcast addresses: `avoidBuggyIPs`; BGP to the router with
    /// community 64512:100).
    public static let exampleConfiguration = """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: lan, namespace: metallb-system}
        spec:
          addresses: [192.0.2.200-192.0.2.219, "2001:db8::200-2001:db8::21f"]
        ---
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: routed, namespace: metallb-system}
        spec:
          addresses: [203.0.113.0/24]
          avoidBuggyIPs: true
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {name: lan, namespace: metallb-system}
        spec:
          ipAddressPools: [lan]
        ---
        apiVersion: metallb.io/v1beta1
        kind: BGPAdvertisement
        metadata: {name: routed, namespace: metallb-system}
        spec:
          ipAddressPools: [routed]
          communities: ["64512:100"]
        ---
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: router, namespace: metallb-system}
        spec:
          myASN: 64513
          peerASN: 64512
          peerAddress: 192.0.2.1
          holdTime: 9s
        """

    /// A Service of type LoadBalancer from `pool`, port 80 to the backends' 8080.
    public static func exampleService(_ name: String, pool: String, local: Bool = false) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: \(name)
          namespace: default
          annotations: {metallb.io/address-pool: \(pool)}
        spec:
          type: LoadBalancer
          externalTrafficPolicy: \(local ? "Local" : "Cluster")
          selector: {app: \(name)}
          ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
        """
    }

    /// Runs `body` on a lab that is up, and tears it down afterwards: on success, on error, and on SIGINT/SIGTERM
    /// (then the process exits 130). The work directory is removed on success and kept (with the logs) on error.
    public static func with<T: Sendable>(_ options: Options, _ body: @escaping @Sendable (Lab) async throws -> T) async throws -> T {
        let lab = Lab(options: options)
        let result: T? = try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                for await _ in interruptions() {
                    print("\ninterrupted: tearing the lab down")
                    for pid in Observers.running { kill(pid, SIGKILL) }
                    await lab.down()
                    Foundation.exit(130)
                }
                return nil
            }
            group.addTask {
                do {
                    try await lab.up()
                    let result = try await body(lab)
                    await lab.down()
                    return result
                } catch {
                    await lab.down()
                    throw error
                }
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            return nil
        }
        guard let result else { throw LabError("the lab was stopped") }
        try? FileManager.default.removeItem(atPath: options.workDirectory)
        return result
    }

    /// Starts the controller, a speaker per node and the backends, and applies the example configuration.
    public func startExample() async throws {
        try await startController()
        for i in nodeIndices { try startSpeaker(i) }
        try startBackends()
        try await kubectl(["apply", "-f", "-"], input: Self.exampleConfiguration)
    }

    /// Creates an example Service with endpoints on `nodes`, waits for its first address and programs the nodes'
    /// NAT for it.
    public func exampleServiceAddress(_ name: String, pool: String, local: Bool = false, endpoints nodes: [Int]? = nil,
                                      timeout: Duration = .seconds(30)) async throws -> String {
        try await kubectl(["apply", "-f", "-"], input: Self.exampleService(name, pool: pool, local: local))
        try await setEndpoints(service: name, nodes: nodes ?? nodeIndices)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let ip = try await serviceAddresses(name).first {
                natAddresses.withLock { $0.insert(ip) }
                try await programServiceNAT(natAddresses.withLock { Array($0).sorted() })
                return ip
            }
            guard ContinuousClock.now < deadline else { throw LabError("the controller assigned no address to \(name) within \(timeout)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

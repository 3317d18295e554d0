// controller: assigns external IPs to Services of type LoadBalancer (see Docs/cli.md).
import ArgumentParser
import ControllerRuntime
import Dispatch
import Foundation
import KubernetesClient
import Logging

@main
struct Controller: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Beacon's controller: assigns addresses from IPAddressPools to Services of type LoadBalancer.",
        subcommands: [Run.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the controller until SIGTERM or SIGINT.")

    @Option(help: "Kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config).") var kubeconfig: String?
    @Option(help: "Namespace of the metallb.io configuration objects.") var namespace = "metallb-system"
    @Option(name: .customLong("lb-class"), help: "Serve only Services with this loadBalancerClass (default: those without one).")
    var lbClass: String?
    @Option(name: .customLong("config-file"), help: "Read the configuration from this YAML file instead of CRs (repeatable).")
    var configFiles: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Client-side rate limit, requests per second.") var qps = 200.0
    @Option(help: "Client-side burst.") var burst = 400

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "beacon.controller")
        var config = try ClientConfiguration.resolve(kubeconfig: kubeconfig)
        config.qps = qps
        config.burst = burst
        config.userAgent = "beacon-controller"
        let client = try KubernetesClient(configuration: config)
        var options = ControllerRuntime.Options()
        options.namespace = namespace
        options.loadBalancerClass = lbClass
        options.configFiles = configFiles
        if let pod = ProcessInfo.processInfo.environment["POD_NAME"] { options.instance = pod }
        let runtime = ControllerRuntime(client: client, options: options, logger: logger)
        logger.info("starting", metadata: ["server": "\(config.server)", "namespace": "\(namespace)"])
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runtime.run() }
                group.addTask { await waitForSignal() }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {}
        logger.info("stopped")
        await client.shutdown()
    }
}

/// Returns on the first SIGTERM or SIGINT.
func waitForSignal() async {
    let (stream, continuation) = AsyncStream<Int32>.makeStream()
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: sig)
        s.setEventHandler { continuation.yield(sig) }
        s.resume()
        sources.append(s)
    }
    for await _ in stream { break }
    sources.forEach { $0.cancel() }
}

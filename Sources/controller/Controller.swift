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
    @Option(help: "Log format: text or json (one object per line).") var logFormat = "text"
    @Flag(help: "Run as one of several replicas: only the holder of the Lease assigns addresses.") var leaderElect = false
    @Option(help: "Name of the leader-election Lease (in --namespace).") var leaseName = "beacon-controller"
    @Option(help: "Seconds a leader's Lease lasts without renewal before a standby takes over.") var leaseDuration = 15
    @Option(help: "Client-side rate limit, requests per second.") var qps = 200.0
    @Option(help: "Client-side burst.") var burst = 400

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard logFormat == "text" || logFormat == "json" else { throw ValidationError("--log-format must be text or json") }
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(logLevel: level, label: label) }
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
        let identity = ProcessInfo.processInfo.environment["POD_NAME"] ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        var elector = LeaderElector(client: client, namespace: namespace, name: leaseName, identity: identity, logger: logger)
        elector.leaseDuration = .seconds(leaseDuration)
        elector.renewDeadline = .seconds(max(1, leaseDuration * 2 / 3))
        elector.retryPeriod = .milliseconds(max(200, leaseDuration * 1000 / 7))
        let leader = elector
        var failure: (any Error)?
        await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    if leaderElect { try await leader.run { try await runtime.run() } } else { try await runtime.run() }
                    return nil
                } catch is CancellationError {
                    return nil
                } catch {
                    return error
                }
            }
            group.addTask { await waitForSignal(); return nil }
            failure = await group.next() ?? nil
            group.cancelAll()
            for await _ in group {}
        }
        // Stopped writing; now let a standby take over at once instead of waiting for the lease to expire.
        if leaderElect { await elector.release() }
        if let failure {
            logger.error("stopped on error", metadata: ["error": "\(failure)"])
            await client.shutdown()
            throw ExitCode(1)
        }
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

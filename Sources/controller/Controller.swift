// controller: assigns external IPs to Services of type LoadBalancer (see Docs/cli.md).
import BeaconVersion
import AdminHTTP
import ArgumentParser
import ControllerRuntime
import Foundation
import KubernetesClient
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

@main
struct Controller: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Beacon's controller: assigns addresses from IPAddressPools to Services of type LoadBalancer.",
        version: BeaconVersion.string,
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
    @Option(name: .customLong("ml-secret-name"), help: "The speakers' membership Secret, created with a random key when missing (\"\" disables).")
    var membershipSecretName = "memberlist"
    @Option(help: "Client-side rate limit, requests per second.") var qps = 200.0
    @Option(help: "Client-side burst.") var burst = 400

    @Option(name: .customLong("admin-addr"), help: "Serve /metrics, /healthz and /readyz on HOST:PORT (:PORT for all addresses; port 0 disables).")
    var adminAddr = ":7472"

    func run() async throws {
        guard let admin = AdminServer.parseAddress(adminAddr) else { throw ValidationError("--admin-addr must be HOST:PORT or :PORT") }
        do { try DaemonLogging.bootstrap(level: logLevel, format: logFormat) } catch { throw ValidationError(error.description) }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[ControllerMetrics.allocationLatency] =
            [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map { Duration.milliseconds(Int($0 * 1000)) }
        MetricsSystem.bootstrap(factory)
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
        options.membershipSecretName = membershipSecretName.isEmpty ? nil : membershipSecretName
        if let pod = ProcessInfo.processInfo.environment["POD_NAME"] { options.instance = pod }
        let metrics = ControllerMetrics(factory: factory)
        let runtime = ControllerRuntime(client: client, options: options, logger: logger, metrics: metrics)
        logger.info("starting", metadata: ["server": "\(config.server)", "namespace": "\(namespace)"])
        let identity = ProcessInfo.processInfo.environment["POD_NAME"] ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        var elector = LeaderElector(client: client, namespace: namespace, name: leaseName, identity: identity, logger: logger)
        elector.leaseDuration = .seconds(leaseDuration)
        elector.renewDeadline = .seconds(max(1, leaseDuration * 2 / 3))
        elector.retryPeriod = .milliseconds(max(200, leaseDuration * 1000 / 7))
        let service = ControllerService(runtime: runtime, elector: leaderElect ? elector : nil)
        var services: [any Service] = []
        if admin.port != 0 {
            let server = try await AdminServer(host: admin.host, port: admin.port, registry: registry, scraped: metrics.scraped,
                                               ready: { service.notReadyReason() })
            logger.info("admin server listening", metadata: ["address": "\(admin.host):\(server.port)"])
            services.append(server)
        }
        services.append(service)
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("stopped on error", metadata: ["error": "\(error)"])
            await client.shutdown(within: .milliseconds(500)) { Foundation.exit(1) }
            Foundation.exit(1)
        }
        logger.info("stopped")
        // Everything that matters is done; a watch connection must not hold the exit up.
        await client.shutdown(within: .milliseconds(500)) { Foundation.exit(0) }
    }
}

/// The runtime as a ServiceLifecycle service: with leader election it runs only while this replica holds the Lease,
/// and on shutdown releases the Lease so a standby takes over at once instead of waiting for it to expire.
struct ControllerService: Service {
    let runtime: ControllerRuntime
    let elector: LeaderElector?
    private let leading = LeadingFlag()

    init(runtime: ControllerRuntime, elector: LeaderElector?) {
        self.runtime = runtime
        self.elector = elector
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                if let elector {
                    try await elector.run {
                        leading.set(true)
                        defer { leading.set(false) }
                        try await runtime.run()
                    }
                } else {
                    try await runtime.run()
                }
            }
        } catch is CancellationError {
            // Shutdown.
        }
        if let elector { await elector.release() }
    }

    /// nil when ready: the first pass is done, or this replica is a standby (it is healthy, just not leading).
    func notReadyReason() -> String? {
        if runtime.currentStatus.synced { return nil }
        if elector != nil && !leading.get() { return nil }
        return "caches not synced or first pass not done"
    }
}

final class LeadingFlag: Sendable {
    private let value = Mutex(false)
    func set(_ v: Bool) { value.withLock { $0 = v } }
    func get() -> Bool { value.withLock { $0 } }
}

import AdminHTTP
import ArgumentParser
import CJemalloc
import CMalloc
import Foundation
import KubernetesClient
import LinkLayer
import Logging
import Metrics
import NIOCore
import Netlink
import Prometheus
import ServiceLifecycle
import SpeakerRuntime

/// `speaker run`: the DaemonSet process.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Announce this node's share of the LoadBalancer IPs until SIGTERM or SIGINT.",
        discussion: """
            Watches Services, EndpointSlices, Nodes and the metallb.io configuration, learns which speakers are alive over \
            signed UDP heartbeats (membership), and announces: layer 2 (answers ARP/NDP for the IPs this node owns, \
            gratuitous frames on takeover) and BGP (sessions to the BGPPeers that select this node). Needs CAP_NET_RAW \
            and the host network. /metrics and the probes are on --admin-addr (all addresses); \
            /debug/state, which feeds `speaker status`, `explain`, `peers`, `routes` and `members`, is on --debug-addr \
            (loopback). On SIGTERM it leaves membership (the next owner takes over at once), stops \
            answering and sends Cease to its peers.
            """
    )

    @Option(help: "Kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config).") var kubeconfig: String?
    @Option(name: .customLong("node-name"), help: "This node's name (default: $NODE_NAME, else $METALLB_NODE_NAME).") var nodeName: String?
    @Option(help: "Namespace of the metallb.io configuration objects, Secrets and status objects.") var namespace = "metallb-system"
    @Option(name: .customLong("lb-class"), help: "Announce only Services with this loadBalancerClass (default: those without one).")
    var lbClass: String?
    @Option(name: .customLong("config-file"), help: "Read the configuration from this YAML file instead of CRs (repeatable).")
    var configFiles: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Log format: text or json (one object per line).") var logFormat = "text"
    @Option(name: .customLong("admin-addr"), help: "Serve /metrics, /healthz and /readyz on HOST:PORT (:PORT for all addresses, IPv4 and IPv6; port 0 disables).")
    var adminAddr = ":7473"
    @Option(name: .customLong("debug-addr"), help: "Serve /debug/state (the CLI's source) on HOST:PORT; loopback unless you must (port 0 disables).")
    var debugAddr = "127.0.0.1:7474"

    @Flag(name: .customLong("ml-disabled"), help: "No membership: Node conditions decide who is alive (as MetalLB without memberlist).")
    var membershipDisabled = false
    @Option(name: .customLong("ml-bind-addr"), help: "Membership: address to listen on (default ::, both families).") var membershipBind = "::"
    @Option(name: .customLong("ml-bind-port"), help: "Membership: UDP port (every speaker uses the same one).") var membershipPort = 7946
    @Option(name: .customLong("ml-secret-key-path"),
            help: "Membership: file holding the shared key (the memberlist Secret mounted; default: $METALLB_ML_SECRET_KEY_PATH, else read the Secret).")
    var membershipKeyPath: String?
    @Option(name: .customLong("ml-secret-name"), help: "Membership: the Secret (key \"secretkey\") read when no key file is given.")
    var membershipSecret = "memberlist"
    @Option(name: .customLong("ml-interval"), help: "Membership: heartbeat interval in milliseconds.") var membershipInterval = 50
    @Option(name: .customLong("ml-timeout"), help: "Membership: milliseconds of silence after which a speaker is dead.") var membershipTimeout = 150

    @Option(name: .customLong("interface-exclude"), help: "Interface name regex never used for layer 2 (repeatable; default: MetalLB's list).")
    var interfaceExcludes: [String] = []
    @Flag(name: .customLong("ignore-exclude-lb"), help: "Announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers.")
    var ignoreExcludeLabel = false
    @Flag(name: .customLong("bgp-graceful-stop"), help: "On SIGTERM close BGP sessions without Cease, so peers with graceful restart keep the routes.")
    var gracefulStop = false
    @Option(help: "Gratuitous schedule as offsets, e.g. 0,250ms,500ms,1s,2s.") var gratuitousSchedule: String?

    @Option(help: ArgumentHelp("SwiftNIO event loop threads (sockets, TLS, BGP, ARP/NDP).",
                               discussion: "Planning runs elsewhere; one loop serves a node, and each costs memory.")) var eventLoops = 1

    func run() async throws {
        guard eventLoops >= 1 else { throw ValidationError("--event-loops must be at least 1") }
        // Before anything uses the shared event loop group (which would otherwise start one thread per core).
        NIOSingletons.groupLoopCountSuggestion = eventLoops
        guard let admin = AdminServer.parseAddress(adminAddr) else { throw ValidationError("--admin-addr must be HOST:PORT or :PORT") }
        guard let debug = AdminServer.parseAddress(debugAddr) else { throw ValidationError("--debug-addr must be HOST:PORT or :PORT") }
        guard let node = nodeName ?? ProcessInfo.processInfo.environment["NODE_NAME"] ?? ProcessInfo.processInfo.environment["METALLB_NODE_NAME"], !node.isEmpty else {
            throw ValidationError("give --node-name or set NODE_NAME (the DaemonSet sets it from spec.nodeName)")
        }
        guard membershipInterval > 0, membershipTimeout >= 2 * membershipInterval else {
            throw ValidationError("--ml-timeout must be at least twice --ml-interval (and both positive)")
        }
        do { try DaemonLogging.bootstrap(level: logLevel, format: logFormat) } catch { throw ValidationError(error.description) }
        let allocator = MemoryPolicy.configure()
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[SpeakerMetrics.failoverSeconds] =
            [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5].map { Duration.milliseconds(Int($0 * 1000)) }
        // Around the heartbeat interval (50 ms by default), finely enough for a p99 that can be held against the timeout.
        factory.durationHistogramBuckets[SpeakerMetrics.heartbeatGapSeconds] =
            [10, 20, 30, 40, 45, 50, 55, 60, 70, 80, 100, 125, 150, 200, 300, 500, 1000, 2000, 5000].map { Duration.milliseconds($0) }
        MetricsSystem.bootstrap(factory)
        let logger = Logger(label: "beacon.speaker")

        var options = SpeakerRuntime.Options(nodeName: node)
        options.namespace = namespace
        options.loadBalancerClass = lbClass
        options.configFiles = configFiles
        options.ignoreExcludeLabel = ignoreExcludeLabel
        options.gracefulRestartOnStop = gracefulStop
        for p in interfaceExcludes { do { _ = try InterfacePattern(p) } catch { throw ValidationError("--interface-exclude \(error)") } }
        if !interfaceExcludes.isEmpty { options.interfaceExcludes = interfaceExcludes }
        if let text = gratuitousSchedule {
            do { options.gratuitous = try GratuitousSchedule(text) } catch { throw ValidationError("--gratuitous-schedule: \(error)") }
        }
        if let pod = ProcessInfo.processInfo.environment["POD_NAME"] { options.instance = pod }
        options.membership.enabled = !membershipDisabled
        options.membership.bindHost = membershipBind
        options.membership.port = membershipPort
        options.membership.secretName = membershipSecret
        options.membership.interval = .milliseconds(membershipInterval)
        options.membership.timeout = .milliseconds(membershipTimeout)
        if let path = membershipKeyPath ?? ProcessInfo.processInfo.environment["METALLB_ML_SECRET_KEY_PATH"] {
            // MetalLB mounts the Secret as a directory holding `secretkey`; a plain file works too.
            var isDirectory: ObjCBool = false
            let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? path + "/secretkey" : path
            guard let data = FileManager.default.contents(atPath: file), !data.isEmpty else {
                throw ValidationError("--ml-secret-key-path: cannot read a key from \(file)")
            }
            options.membership.secret = Array(data)
        }

        var config = try ClientConfiguration.resolve(kubeconfig: kubeconfig)
        config.userAgent = "beacon-speaker"
        let client = try KubernetesClient(configuration: config)
        let runtime = SpeakerRuntime(client: client, options: options, logger: logger, metricsFactory: factory)
        logger.info("starting", metadata: ["server": "\(config.server)", "node": "\(node)", "namespace": "\(namespace)", "allocator": "\(allocator)"])
        var services: [any ServiceLifecycle.Service] = [MemoryPolicy(factory: factory)]
        do {
            if admin.port != 0 {
                let server = try await AdminServer(host: admin.host, port: admin.port, registry: registry, scraped: runtime.scrapedMetrics,
                                                   ready: { runtime.notReadyReason })
                logger.info("admin server listening", metadata: ["address": "\(server.boundAddress)"])
                services.append(server)
            }
            if debug.port != 0 {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let server = try await AdminServer(host: debug.host, port: debug.port, routes: AdminRoutes(["/debug/state": { request in
                    guard let data = try? encoder.encode(runtime.debugState(service: request.query["service"])) else { return .text("cannot encode state\n", status: 500) }
                    return .json(Array(data))
                }]))
                logger.info("debug server listening", metadata: ["address": "\(server.boundAddress)"])
                services.append(server)
            }
        } catch let error as AdminBindError {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        services.append(SpeakerService(runtime: runtime))
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

/// The runtime as a ServiceLifecycle service: graceful shutdown runs its ordered stop (leave, stop answering, Cease).
struct SpeakerService: ServiceLifecycle.Service {
    let runtime: SpeakerRuntime

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await runtime.run()
        } onGracefulShutdown: {
            runtime.shutdown()
        }
    }
}

// swift-tools-version: 6.1
// Beacon: a bare-metal LoadBalancer for Kubernetes. See Docs/architecture.md for the module layers.
import PackageDescription

let package = Package(
    name: "Beacon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "speaker", targets: ["speaker"]),
        .executable(name: "beacon-bench", targets: ["beacon-bench"]),
        .executable(name: "kube-emulator", targets: ["kube-emulator"]),
        .executable(name: "controller", targets: ["controller"]),
        .executable(name: "beacon-lab", targets: ["beacon-lab"]),
        .library(name: "LoadBalancerConfig", targets: ["LoadBalancerConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Layer 0: addresses, prefixes, ranges, MACs, ASNs, communities. Standard library only.
        .target(name: "NetworkPrimitives"),
        // Layer 0: the release number every executable reports with --version.
        .target(name: "BeaconVersion"),
        // Layer 0: per-address metric families kept as numbers and written in Prometheus' text format on scrape.
        .target(name: "MetricsText"),
        // Layer 1: BFD (RFC 5880) as values: the Control packet and the session's state machine on a caller's clock.
        .target(name: "BFD"),
        // Layer 1: Kubernetes object shapes Beacon reads (metadata, label selectors).
        .target(name: "KubernetesModel"),
        // Layer 1: metallb.io CRDs, YAML/JSON decoding, all-or-nothing validation.
        .target(
            name: "LoadBalancerConfig",
            dependencies: ["NetworkPrimitives", "KubernetesModel", .product(name: "Yams", package: "Yams")]
        ),
        // Layer 1: which addresses each Service gets; pure, O(log n) per operation.
        .target(name: "AddressAllocator", dependencies: ["NetworkPrimitives", "KubernetesModel", "LoadBalancerConfig"]),
        // Layer 1: who announces what (L2 owner election, BGP eligibility), with reasons; pure.
        .target(name: "AnnouncementPolicy", dependencies: ["NetworkPrimitives", "KubernetesModel", "LoadBalancerConfig",
                                                          .product(name: "Crypto", package: "swift-crypto")]),
        // Layer 1: the speakers' failure detector and its signed datagrams; pure.
        .target(name: "Membership", dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio")]),
        // Layer 1: Ethernet, ARP and IPv6 neighbour discovery frames; pure codecs on ByteBuffer.
        .target(name: "LinkLayer", dependencies: ["NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio")]),
        // Layer 1: BGP-4 messages on ByteBuffer, the RFC 4271 FSM on a caller's clock, Adj-RIB-Out.
        .target(name: "BGPProtocol", dependencies: ["NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio")]),
        // Layer 2: interfaces and addresses from the kernel (libnl-3, libnl-route-3).
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .target(name: "Netlink", dependencies: ["CNetlink", "NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio"),
                                                .product(name: "NIOPosix", package: "swift-nio")]),
        // Layer 2: AF_PACKET sockets (C shim for sockaddr_ll, the BPF filter, multicast membership).
        .target(name: "CPacket"),
        .target(
            name: "PacketSocket",
            dependencies: ["CPacket", "LinkLayer", "NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        // Layer 2: the failure detector on UDP (signed datagrams, ticks, leave).
        .target(
            name: "MembershipTransport",
            dependencies: ["Membership", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // Layer 2: one NIO TCP session per BGP peer (MD5, TTL, source address, timers, backoff).
        .target(name: "CBGPSocket"),
        .target(
            name: "BGPTransport",
            dependencies: ["BGPProtocol", "BFD", "BFDTransport", "CBGPSocket", "NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        // Layer 2: a Kubernetes API server subset for tests and the demo: object store, HTTPS, watch, discovery.
        .target(
            name: "KubernetesEmulator",
            dependencies: ["KubernetesModel",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOTLS", package: "swift-nio"),
                           .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "SwiftASN1", package: "swift-asn1")]
        ),
        // Layer 2: the daemons' Kubernetes client: kubeconfig/in-cluster auth, typed verbs, informers.
        .target(
            name: "KubernetesClient",
            dependencies: ["KubernetesModel", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        // Layer 2: the daemons' admin port: /metrics, /healthz, /readyz, /debug/state.
        .target(
            name: "AdminHTTP",
            dependencies: ["KubernetesModel", "MetricsText", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        // Layer 3: the configuration both daemons run with: metallb.io objects (or YAML files), last good one in force.
        .target(
            name: "ConfigurationWatch",
            dependencies: ["LoadBalancerConfig", "KubernetesModel", "KubernetesClient", .product(name: "Logging", package: "swift-log")]
        ),
        // Layer 2: BFD over UDP (RFC 5881 single hop, RFC 5883 multihop), on threads of its own.
        .target(name: "BFDTransport", dependencies: ["BFD", "NetworkPrimitives", .product(name: "Logging", package: "swift-log")]),
        // Layer 3: the controller daemon's wiring: informers → allocator → status, events, pool status.
        .target(
            name: "ControllerRuntime",
            dependencies: ["AddressAllocator", "ConfigurationWatch", "LoadBalancerConfig", "KubernetesModel", "KubernetesClient", "NetworkPrimitives",
                           "MetricsText", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        // The speaker's allocator controls: glibc's mallopt/malloc_trim/mallinfo2, or jemalloc's mallctl when linked.
        .target(name: "CMalloc"),
        // jemalloc's configuration for the speaker. `make release` links jemalloc into the speaker (the Makefile's
        // SPEAKER_FLAGS, tools/static-libs.sh); debug builds, and so the test process that links the speaker's module, keep glibc.
        .target(name: "CJemalloc"),
        // Layer 3: the speaker daemon's wiring: informers + membership → planner → layer 2 announcer and BGP sessions;
        // status objects, events, metrics, /debug/state.
        .target(
            name: "SpeakerRuntime",
            dependencies: ["AnnouncementPolicy", "ConfigurationWatch", "LoadBalancerConfig", "KubernetesModel", "KubernetesClient", "NetworkPrimitives", "LinkLayer", "CMalloc",
                           "PacketSocket", "BGPProtocol", "BGPTransport", "Membership", "MembershipTransport", "Netlink", "MetricsText",
                           .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Layer 4: the lab (namespaces, BIRD, the daemons) for the demo, the end-to-end tests and the failover benchmark.
        .target(name: "BeaconLab"),
        // Layer 4: executables.
        .executableTarget(
            name: "controller",
            dependencies: ["BeaconVersion", "ControllerRuntime", "KubernetesClient", "KubernetesModel", "AdminHTTP", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .executableTarget(
            name: "speaker",
            dependencies: ["BeaconVersion", "LoadBalancerConfig", "Netlink", "NetworkPrimitives", "LinkLayer", "BGPProtocol", "PacketSocket", "BGPTransport", "BFDTransport",
                           "AnnouncementPolicy", "KubernetesModel", "KubernetesClient", "SpeakerRuntime", "AdminHTTP", "CMalloc", "CJemalloc",
                           .product(name: "Yams", package: "Yams"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .executableTarget(
            name: "beacon-lab",
            dependencies: ["BeaconVersion", "BeaconLab", "Membership", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .executableTarget(
            name: "kube-emulator",
            dependencies: ["BeaconVersion", "KubernetesEmulator", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .executableTarget(
            name: "beacon-bench",
            dependencies: ["BeaconVersion", "LoadBalancerConfig", "AddressAllocator", "KubernetesClient", "KubernetesEmulator", "ControllerRuntime",
                           "PacketSocket", "LinkLayer", "NetworkPrimitives", "BGPProtocol", "BGPTransport", "BeaconLab", "SpeakerRuntime",
                           "Membership", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // libFuzzer entry point for YAML -> Configuration. Built with `make fuzz-config`.
        .target(name: "CFuzzerSupport"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerSupport"]),
        .executableTarget(name: "fuzz-config", dependencies: ["LoadBalancerConfig", "FuzzSupport"]),
        .executableTarget(name: "fuzz-bgp", dependencies: ["BGPProtocol", "BFD", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(name: "fuzz-admin", dependencies: ["AdminHTTP", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio"),
                                                             .product(name: "NIOEmbedded", package: "swift-nio"),
                                                             .product(name: "NIOHTTP1", package: "swift-nio")]),
        .executableTarget(name: "fuzz-json", dependencies: ["KubernetesModel", "FuzzSupport"]),
        .executableTarget(name: "fuzz-membership", dependencies: ["Membership", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio"),
                                                                  .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(name: "fuzz-frames", dependencies: ["LinkLayer", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio")]),

        .testTarget(name: "NetworkPrimitivesTests", dependencies: ["NetworkPrimitives"]),
        .testTarget(name: "KubernetesModelTests", dependencies: ["KubernetesModel", "fuzz-json", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AddressAllocatorTests", dependencies: ["AddressAllocator"]),
        .testTarget(name: "KubernetesEmulatorTests", dependencies: ["KubernetesEmulator"]),
        .testTarget(name: "KubernetesClientTests", dependencies: ["KubernetesClient", "KubernetesEmulator", "kube-emulator", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LinkLayerTests", dependencies: ["LinkLayer"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AnnouncementPolicyTests", dependencies: ["AnnouncementPolicy", "LoadBalancerConfig", "KubernetesModel", "NetworkPrimitives", "TestSupport"]),
        .testTarget(name: "MembershipTests", dependencies: ["Membership", "fuzz-membership", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                                                            .product(name: "NIOCore", package: "swift-nio")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "MembershipTransportTests", dependencies: ["MembershipTransport", "Membership", "TestSupport",
                                                                     .product(name: "Crypto", package: "swift-crypto"),
                                                                     .product(name: "NIOCore", package: "swift-nio"),
                                                                     .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink"]),
        .testTarget(name: "BGPProtocolTests", dependencies: ["BGPProtocol"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BFDTests", dependencies: ["BFD"]),
        .testTarget(
            name: "LoadBalancerConfigTests",
            dependencies: ["LoadBalancerConfig"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "ControllerRuntimeTests", dependencies: ["ControllerRuntime", "ConfigurationWatch", "KubernetesClient", "KubernetesEmulator", "controller", "kube-emulator", "TestSupport", "BeaconLab"]),
        .testTarget(name: "BGPTransportTests", dependencies: ["BGPTransport", "TestSupport"]),
        .testTarget(name: "AdminHTTPTests", dependencies: ["AdminHTTP", "fuzz-admin", "TestSupport", .product(name: "Prometheus", package: "swift-prometheus"),
                                                         .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SpeakerCLITests", dependencies: ["speaker", "TestSupport", "BeaconLab"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DeployTests", dependencies: ["LoadBalancerConfig", "kube-emulator", "TestSupport"], resources: [.copy("Fixtures")]),
        // Builders and helpers the test targets share.
        .target(name: "TestSupport", dependencies: ["KubernetesModel", "LoadBalancerConfig", "Netlink"], path: "Tests/TestSupport"),
        .testTarget(name: "SpeakerRuntimeTests", dependencies: ["BeaconLab", "SpeakerRuntime", "MetricsText", "KubernetesClient", "KubernetesModel", "TestSupport",
                                                                "speaker", "controller", "kube-emulator", "beacon-lab", "KubernetesEmulator",
                                                                .product(name: "Crypto", package: "swift-crypto")]),
    ],
    swiftLanguageModes: [.v6]
)

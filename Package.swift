// swift-tools-version: 6.1
// Beacon: a bare-metal LoadBalancer for Kubernetes. See Docs/architecture.md for the module layers.
import PackageDescription

let package = Package(
    name: "Beacon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "speaker", targets: ["speaker"]),
        .executable(name: "beacon-bench", targets: ["beacon-bench"]),
        .library(name: "LoadBalancerConfig", targets: ["LoadBalancerConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Layer 0: addresses, prefixes, ranges, MACs, ASNs, communities. Standard library only.
        .target(name: "NetworkPrimitives"),
        // Layer 1: Kubernetes object shapes Beacon reads (metadata, label selectors).
        .target(name: "KubernetesModel"),
        // Layer 1: metallb.io CRDs, YAML/JSON decoding, all-or-nothing validation.
        .target(
            name: "LoadBalancerConfig",
            dependencies: ["NetworkPrimitives", "KubernetesModel", .product(name: "Yams", package: "Yams")]
        ),
        // Layer 1: which addresses each Service gets; pure, O(log n) per operation.
        .target(name: "AddressAllocator", dependencies: ["NetworkPrimitives", "KubernetesModel", "LoadBalancerConfig"]),
        // Layer 1: Ethernet, ARP and IPv6 neighbour discovery frames; pure codecs on ByteBuffer.
        .target(name: "LinkLayer", dependencies: ["NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio")]),
        // Layer 1: BGP-4 messages on ByteBuffer (the FSM and Adj-RIB-Out come with issue 7).
        .target(name: "BGPProtocol", dependencies: ["NetworkPrimitives", .product(name: "NIOCore", package: "swift-nio")]),
        // Layer 2: interfaces and addresses from the kernel (libnl-3, libnl-route-3).
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .target(name: "Netlink", dependencies: ["CNetlink", "NetworkPrimitives"]),
        // Layer 2: a Kubernetes API server subset for tests and the demo (the object store so far).
        .target(name: "KubernetesEmulator", dependencies: ["KubernetesModel"]),
        // Layer 4: executables.
        .executableTarget(
            name: "speaker",
            dependencies: ["LoadBalancerConfig", "Netlink", "NetworkPrimitives", "LinkLayer", "BGPProtocol",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "beacon-bench",
            dependencies: ["LoadBalancerConfig", "AddressAllocator", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // libFuzzer entry point for YAML -> Configuration. Built with `make fuzz-config`.
        .target(name: "CFuzzerSupport"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerSupport"]),
        .executableTarget(name: "fuzz-config", dependencies: ["LoadBalancerConfig", "FuzzSupport"]),
        .executableTarget(name: "fuzz-frames", dependencies: ["LinkLayer", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio")]),

        .testTarget(name: "NetworkPrimitivesTests", dependencies: ["NetworkPrimitives"]),
        .testTarget(name: "KubernetesModelTests", dependencies: ["KubernetesModel"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AddressAllocatorTests", dependencies: ["AddressAllocator"]),
        .testTarget(name: "KubernetesEmulatorTests", dependencies: ["KubernetesEmulator"]),
        .testTarget(name: "LinkLayerTests", dependencies: ["LinkLayer"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BGPProtocolTests", dependencies: ["BGPProtocol"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LoadBalancerConfigTests",
            dependencies: ["LoadBalancerConfig"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "SpeakerCLITests", dependencies: ["speaker"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)

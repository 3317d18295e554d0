/// How strictly to validate, and against which BGP implementation's abilities.
public struct ValidationOptions: Hashable, Sendable {
    /// Which BGP implementation the configuration must suit.
    public enum BGPImplementation: String, Hashable, Sendable, CaseIterable {
        /// Beacon's native speaker: IPv6, MP-BGP, large communities, graceful restart, timers, dynamic ASN and
        /// local ASN are supported. VRF and unnumbered (interface) peers are accepted with a warning and get no
        /// session, rather than being peered from the wrong table.
        case beacon
        /// MetalLB's native BGP mode (`DiscardFRROnly`): rejects FRR-only fields, IPv6 pools advertised over BGP,
        /// large communities and BFD, exactly as MetalLB does.
        case metallbNative = "metallb-native"
        /// MetalLB's FRR / FRR-K8s modes: adds FRR's per-node constraints (one router ID per node, one ASN per VRF,
        /// no BFD echo mode for IPv6 pools).
        case metallbFRR = "metallb-frr"
    }

    /// The namespace Beacon (like MetalLB) reads configuration from; objects naming another are rejected.
    public var namespace: String
    public var bgpImplementation: BGPImplementation
    /// Whether Secrets are part of the input, so `passwordSecret` references can be checked. When nil, they are
    /// checked if the input contains any Secret; otherwise a missing Secret is a warning, resolved at runtime.
    public var secretsProvided: Bool?

    public init(namespace: String = "metallb-system", bgpImplementation: BGPImplementation = .beacon,
                secretsProvided: Bool? = nil) {
        self.namespace = namespace
        self.bgpImplementation = bgpImplementation
        self.secretsProvided = secretsProvided
    }
}

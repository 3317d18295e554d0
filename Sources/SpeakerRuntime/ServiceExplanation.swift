import AnnouncementPolicy

/// One Service's plan on one node in a form that travels: `/debug/state`, `speaker explain` and `speaker plan -o json`
/// all show this. Decisions are rendered to their sentences; nulls are written out so a reader sees every field.
public struct ServiceExplanation: Codable, Hashable, Sendable {
    public struct Candidate: Codable, Hashable, Sendable {
        public var node: String
        public var weight: Int
        /// SHA-256 of `node#firstIP`, hex: MetalLB's tie-break, lowest first.
        public var sha256: String
        /// Why the node is out; nil when it is a candidate.
        public var excluded: String?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(node, forKey: .node)
            try c.encode(weight, forKey: .weight)
            try c.encode(sha256, forKey: .sha256)
            try c.encode(excluded, forKey: .excluded)
        }
    }

    public struct Layer2: Codable, Hashable, Sendable {
        public var advertisements: [String]
        public var owner: String?
        public var decision: String
        public var announces: Bool
        public var interfaces: [String]
        public var candidates: [Candidate]

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(advertisements, forKey: .advertisements)
            try c.encode(owner, forKey: .owner)
            try c.encode(decision, forKey: .decision)
            try c.encode(announces, forKey: .announces)
            try c.encode(interfaces, forKey: .interfaces)
            try c.encode(candidates, forKey: .candidates)
        }
    }

    public struct Route: Codable, Hashable, Sendable {
        public var prefix: String
        public var peers: [String]
        public var advertisement: String
        public var communities: [String]
        public var localPref: Int?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(prefix, forKey: .prefix)
            try c.encode(peers, forKey: .peers)
            try c.encode(advertisement, forKey: .advertisement)
            try c.encode(communities, forKey: .communities)
            try c.encode(localPref, forKey: .localPref)
        }
    }

    public struct BGP: Codable, Hashable, Sendable {
        public var decision: String
        public var routes: [Route]?
    }

    public var service: String
    public var addresses: [String]
    public var pool: String?
    public var problem: String?
    public var servingEndpoints: Int
    public var endpointNodes: [String]
    public var layer2: [Layer2]
    public var bgp: BGP?

    public init(_ p: ServicePlan) {
        service = p.service.description
        addresses = p.addresses.map(\.description)
        pool = p.pool
        problem = p.problem
        servingEndpoints = p.servingEndpoints
        endpointNodes = p.endpointNodes
        layer2 = p.layer2.map { l2 in
            Layer2(advertisements: l2.advertisements, owner: l2.owner, decision: l2.decision.description, announces: l2.decision.announces,
                   interfaces: l2.interfaces,
                   candidates: l2.candidates.map { c in
                       Candidate(node: c.node, weight: c.weight, sha256: Self.hex(c.hash), excluded: c.excluded.map(\.description))
                   })
        }
        bgp = p.bgp.map { decision in
            var routes: [Route]?
            if case .announce(let rs) = decision {
                routes = rs.map { r in
                    Route(prefix: r.prefix.description, peers: r.peers, advertisement: r.advertisement,
                          communities: (r.attributes.communities.map(\.description) + r.attributes.largeCommunities.map(\.description)).sorted(),
                          localPref: r.attributes.localPreference.map(Int.init))
                }
            }
            return BGP(decision: decision.description, routes: routes)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(addresses, forKey: .addresses)
        try c.encode(pool, forKey: .pool)
        try c.encodeIfPresent(problem, forKey: .problem)
        try c.encode(servingEndpoints, forKey: .servingEndpoints)
        try c.encode(endpointNodes, forKey: .endpointNodes)
        try c.encode(layer2, forKey: .layer2)
        try c.encodeIfPresent(bgp, forKey: .bgp)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] })
    }

    /// The explanation as text, as `speaker plan` and `speaker explain` print it.
    public func text(node: String) -> [String] {
        var lines: [String] = []
        lines.append("\(service) \(addresses.joined(separator: ", ")) (pool \(pool ?? "?"))")
        if let problem { lines.append("  problem: \(problem)") }
        lines.append("  endpoints: \(servingEndpoints) serving" + (endpointNodes.isEmpty ? "" : " on \(endpointNodes.joined(separator: ", "))"))
        for l2 in layer2 {
            lines.append("  layer 2 (\(l2.advertisements.joined(separator: ", "))): owner \(l2.owner ?? "none"); on \(node): \(l2.decision)")
            var rank = 0
            for c in l2.candidates {
                if let why = c.excluded {
                    lines.append("     -  \(c.node)  out: \(why)")
                } else {
                    rank += 1
                    lines.append("    \(rank).  \(c.node)  weight \(c.weight)  sha256 \(c.sha256.prefix(8))…")
                }
            }
            if l2.announces { lines.append("    interfaces: \(l2.interfaces.isEmpty ? "every eligible interface" : l2.interfaces.joined(separator: ", "))") }
        }
        if let bgp { lines.append("  bgp on \(node): \(bgp.decision)") }
        if layer2.isEmpty && bgp == nil { lines.append("  no L2Advertisement or BGPAdvertisement covers pool \(pool ?? "?")") }
        return lines
    }
}

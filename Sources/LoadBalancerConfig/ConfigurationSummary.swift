import NetworkPrimitives

/// What `speaker validate` reports about a configuration: pools with exact sizes, advertisements, peers,
/// and every warning or error. Encodable so the CLI can print it as JSON; address counts are decimal strings
/// because IPv6 sizes exceed what JSON numbers carry exactly.
public struct ConfigurationSummary: Encodable, Sendable {
    public struct Pool: Encodable, Sendable {
        public var name: String
        public var addresses: [String]
        public var ipv4: String
        public var ipv6: String
        public var autoAssign: Bool
        public var avoidBuggyIPs: Bool
        public var priority: Int?
        public var l2Advertisements: [String]
        public var bgpAdvertisements: [String]
    }

    public struct Advertisement: Encodable, Sendable {
        public var kind: String
        public var name: String
        public var pools: [String]
        public var details: String
    }

    public struct Peer: Encodable, Sendable {
        public var name: String
        public var address: String
        public var port: UInt16
        public var myASN: UInt32
        public var peerASN: String
        public var type: String
        public var holdTime: String
        public var keepaliveTime: String
        public var nodeSelectors: [String]
    }

    public struct Issue: Encodable, Sendable {
        public var severity: String
        public var object: String?
        public var field: String
        public var message: String
        public var position: String?
        public var text: String
    }

    public var valid: Bool
    public var pools: [Pool] = []
    public var advertisements: [Advertisement] = []
    public var peers: [Peer] = []
    public var bfdProfiles: [String] = []
    public var communityAliases: [String: String] = [:]
    public var errors: [Issue] = []
    public var warnings: [Issue] = []

    public init(_ loaded: LoadedConfiguration) {
        valid = true
        let c = loaded.configuration
        pools = c.pools.map { p in
            Pool(name: p.name, addresses: p.entries, ipv4: p.size(.ipv4).description, ipv6: p.size(.ipv6).description,
                 autoAssign: p.autoAssign, avoidBuggyIPs: p.avoidBuggyIPs, priority: p.serviceAllocation?.priority,
                 l2Advertisements: c.l2Advertisements(forPool: p.name).map(\.name),
                 bgpAdvertisements: c.bgpAdvertisements(forPool: p.name).map(\.name))
        }
        func poolsOf(_ isL2: Bool, _ name: String) -> [String] {
            c.pools.filter { p in
                isL2 ? c.l2Advertisements(forPool: p.name).contains { $0.name == name }
                     : c.bgpAdvertisements(forPool: p.name).contains { $0.name == name }
            }.map(\.name)
        }
        for ad in c.l2Advertisements.sorted(by: { $0.name < $1.name }) {
            var d: [String] = []
            d.append(ad.interfaces.isEmpty ? "all interfaces" : "interfaces " + ad.interfaces.joined(separator: ","))
            d.append(ad.nodeSelectors.isEmpty ? "all nodes" : "nodes " + ad.nodeSelectors.map { "{\($0)}" }.joined(separator: " or "))
            advertisements.append(Advertisement(kind: "L2Advertisement", name: ad.name, pools: poolsOf(true, ad.name), details: d.joined(separator: "; ")))
        }
        for ad in c.bgpAdvertisements.sorted(by: { $0.name < $1.name }) {
            var d = ["aggregation /\(ad.aggregationLength) /\(ad.aggregationLengthV6)"]
            if let lp = ad.localPref { d.append("localPref \(lp)") }
            if !ad.communities.isEmpty { d.append("communities " + ad.communities.map(\.description).joined(separator: ",")) }
            d.append(ad.peers.isEmpty ? "all peers" : "peers " + ad.peers.joined(separator: ","))
            if !ad.nodeSelectors.isEmpty { d.append("nodes " + ad.nodeSelectors.map { "{\($0)}" }.joined(separator: " or ")) }
            advertisements.append(Advertisement(kind: "BGPAdvertisement", name: ad.name, pools: poolsOf(false, ad.name), details: d.joined(separator: "; ")))
        }
        peers = c.peers.map { p in
            Peer(name: p.name, address: p.address?.description ?? p.interface.map { "interface " + $0 } ?? "",
                 port: p.port, myASN: p.myASN.value, peerASN: p.peerASN.description, type: p.isIBGP ? "iBGP" : "eBGP",
                 holdTime: GoDuration.format(p.holdTime), keepaliveTime: GoDuration.format(p.keepaliveTime),
                 nodeSelectors: p.nodeSelectors.map(\.description))
        }
        bfdProfiles = c.bfdProfiles.map(\.name)
        communityAliases = c.communityAliases.mapValues(\.description)
        warnings = loaded.warnings.map(Self.issue)
    }

    public init(_ error: ConfigurationError) {
        valid = false
        errors = error.errors.map(Self.issue)
        warnings = error.warnings.map(Self.issue)
    }

    static func issue(_ i: ConfigIssue) -> Issue {
        Issue(severity: i.severity.rawValue, object: i.object?.description, field: i.field, message: i.message,
              position: i.position?.description, text: i.description)
    }

    /// The human-readable report.
    public var text: String {
        var lines: [String] = []
        if !valid {
            lines.append("configuration is invalid: \(errors.count) error\(errors.count == 1 ? "" : "s")")
            lines += errors.map { "error: " + $0.text }
            lines += warnings.map { "warning: " + $0.text }
            return lines.joined(separator: "\n")
        }
        let l2 = advertisements.filter { $0.kind == "L2Advertisement" }.count
        let bgp = advertisements.count - l2
        lines.append("configuration is valid: \(plural(pools.count, "pool")), \(plural(l2, "L2 advertisement")), \(plural(bgp, "BGP advertisement")), \(plural(peers.count, "BGP peer")), \(plural(bfdProfiles.count, "BFD profile")), \(plural(communityAliases.count, "community alias", "community aliases"))")
        if !pools.isEmpty {
            lines.append("pools:")
            for p in pools {
                var attrs: [String] = []
                if !p.autoAssign { attrs.append("manual only") }
                if p.avoidBuggyIPs { attrs.append("avoid .0/.255") }
                if let pr = p.priority, pr != 0 { attrs.append("priority \(pr)") }
                let ads = (p.l2Advertisements.map { "l2:" + $0 } + p.bgpAdvertisements.map { "bgp:" + $0 })
                attrs.append(ads.isEmpty ? "not advertised" : "advertised by " + ads.joined(separator: ","))
                lines.append("  \(p.name): IPv4 \(p.ipv4), IPv6 \(p.ipv6) (\(p.addresses.joined(separator: ", "))); \(attrs.joined(separator: "; "))")
            }
        }
        if !advertisements.isEmpty {
            lines.append("advertisements:")
            for a in advertisements {
                lines.append("  \(a.kind)/\(a.name): pools \(a.pools.isEmpty ? "(none)" : a.pools.joined(separator: ",")); \(a.details)")
            }
        }
        if !peers.isEmpty {
            lines.append("peers:")
            for p in peers {
                let nodes = p.nodeSelectors.isEmpty ? "all nodes" : "nodes " + p.nodeSelectors.map { "{\($0)}" }.joined(separator: " or ")
                lines.append("  \(p.name): \(p.address):\(p.port) AS\(p.myASN) -> AS\(p.peerASN) (\(p.type)), hold \(p.holdTime), keepalive \(p.keepaliveTime); \(nodes)")
            }
        }
        lines += warnings.map { "warning: " + $0.text }
        return lines.joined(separator: "\n")
    }

    private func plural(_ n: Int, _ word: String, _ pluralWord: String? = nil) -> String {
        "\(n) \(n == 1 ? word : pluralWord ?? word + "s")"
    }
}

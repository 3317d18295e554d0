import Crypto
import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives

/// Who announces what: from a snapshot of the cluster, this node's layer 2 ownerships and BGP advertisements, each
/// decision with its reason. Pure: no I/O, no clock. The rules are MetalLB's (metallb-behaviour.md §1 "L2 owner
/// election" and "BGP announcers"), so a MetalLB user gets the same placement:
/// - L2: candidates are the live members selected by a matching L2Advertisement, minus NetworkUnavailable and
///   exclude-labelled nodes, minus (for `externalTrafficPolicy: Local`) nodes without a serving endpoint; they are
///   ranked by summed `preferredNodeSelectors` weight (descending), then by SHA-256 of `node#firstIP` (ascending);
///   the first owns all of the Service's addresses.
/// - BGP: every eligible node advertises each address, masked to the advertisement's aggregation length, to the
///   peers whose node selectors match it (filtered by the advertisement's `peers`).
public enum AnnouncementPolicy {
    public static let excludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

    /// Plans every Service for `node`.
    public static func plan(_ snapshot: ClusterSnapshot, node: String) -> Plan {
        var plan = Plan()
        let nodes = Dictionary(snapshot.nodes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var slicesByService: [String: [EndpointSlice]] = [:]
        for s in snapshot.endpointSlices {
            guard let name = s.serviceName else { continue }
            slicesByService["\(s.metadata.namespace ?? "")/\(name)", default: []].append(s)
        }
        for service in snapshot.services {
            let servicePlan = planService(service, snapshot: snapshot, nodes: nodes,
                                          slices: slicesByService["\(service.metadata.namespace ?? "")/\(service.metadata.name ?? "")"] ?? [],
                                          node: node)
            guard let servicePlan else { continue }
            plan.services[servicePlan.service] = servicePlan
            for l2 in servicePlan.layer2 where l2.decision.announces {
                for ip in servicePlan.addresses { plan.desired.layer2[ip] = Set(l2.interfaces) }
            }
            if case .announce(let routes) = servicePlan.bgp {
                for r in routes {
                    for peer in r.peers { plan.desired.bgp[peer, default: [:]][r.prefix] = r.attributes }
                }
            }
        }
        return plan
    }

    static func planService(_ service: Service, snapshot: ClusterSnapshot, nodes: [String: Node], slices: [EndpointSlice],
                            node: String) -> ServicePlan? {
        guard service.spec.type == "LoadBalancer" else { return nil }
        let ips = (service.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip.flatMap { try? IPAddress($0) } }
        guard let first = ips.first else { return nil }
        let key = ServiceRef(namespace: service.metadata.namespace ?? "", name: service.metadata.name ?? "")
        let config = snapshot.configuration
        let poolName = service.metadata.annotations?["metallb.io/ip-allocated-from-pool"] ?? config.pool(containing: first)?.name
        var plan = ServicePlan(service: key, addresses: ips, pool: poolName)
        guard let poolName, config.pool(named: poolName) != nil else {
            plan.problem = "no configured pool contains \(first)"
            return plan
        }
        let serviceLabels = service.metadata.labels ?? [:]
        let endpoints = slices.flatMap(\.endpoints).filter(\.isServing)
        let endpointNodes = Set(endpoints.compactMap(\.nodeName))
        let local = service.spec.externalTrafficPolicy == "Local"
        plan.servingEndpoints = endpoints.count
        plan.endpointNodes = endpointNodes.sorted()

        // Layer 2.
        let l2Ads = config.l2Advertisements(forPool: poolName).filter { ad in
            ad.serviceSelectors.isEmpty || ad.serviceSelectors.contains { $0.matches(serviceLabels) }
        }
        if !l2Ads.isEmpty {
            plan.layer2 = [layer2(service: service, firstIP: first, ads: l2Ads, snapshot: snapshot, nodes: nodes, endpoints: endpoints,
                                  endpointNodes: endpointNodes, local: local, node: node)]
        }

        // BGP.
        let bgpAds = config.bgpAdvertisements(forPool: poolName).filter { ad in
            ad.serviceSelectors.isEmpty || ad.serviceSelectors.contains { $0.matches(serviceLabels) }
        }
        if !bgpAds.isEmpty {
            plan.bgp = bgp(ips: ips, ads: bgpAds, config: config, node: nodes[node], nodeName: node, endpoints: endpoints,
                           endpointNodes: endpointNodes, local: local, ignoreExcludeLabel: snapshot.ignoreExcludeLabel)
        }
        return plan
    }

    static func layer2(service: Service, firstIP: IPAddress, ads: [L2Advertisement], snapshot: ClusterSnapshot, nodes: [String: Node],
                       endpoints: [Endpoint], endpointNodes: Set<String>, local: Bool, node: String) -> Layer2Plan {
        var plan = Layer2Plan(advertisements: ads.map(\.name).sorted())
        // MetalLB: a shared IP cannot be placed by service selectors (the other Service might not match).
        if service.metadata.annotations.flatMap({ a in
            ["metallb.io/allow-shared-ip", "metallb.universe.tf/allow-shared-ip"].first { a[$0] != nil }
        }) != nil, ads.contains(where: { !$0.serviceSelectors.isEmpty }) {
            plan.decision = .sharedIPWithServiceSelectors
            return plan
        }
        guard !endpoints.isEmpty else {
            plan.decision = .noServingEndpoints
            return plan
        }
        let members = snapshot.liveMembers ?? Set(nodes.keys)
        let names = Set(nodes.keys).union(members).sorted()
        var candidates: [RankedCandidate] = []
        for name in names {
            let labels = nodes[name]?.metadata.labels ?? [:]
            var c = RankedCandidate(node: name, weight: 0, hash: rankHash(node: name, ip: firstIP))
            if let why = nodeExclusion(name, node: nodes[name], members: members, ignoreExcludeLabel: snapshot.ignoreExcludeLabel) {
                c.excluded = why
            } else if !ads.contains(where: { $0.selectsNode(labels: labels) }) {
                c.excluded = .notSelectedByAdvertisement
            } else if local, !endpointNodes.contains(name) {
                c.excluded = .noLocalEndpoint
            }
            for ad in ads where ad.selectsNode(labels: labels) {
                for p in ad.preferredNodeSelectors where p.preference.matches(labels) { c.weight += p.weight }
            }
            candidates.append(c)
        }
        candidates.sort { a, b in
            if (a.excluded == nil) != (b.excluded == nil) { return a.excluded == nil }
            if a.weight != b.weight { return a.weight > b.weight }
            return a.hash.lexicographicallyPrecedes(b.hash)
        }
        plan.candidates = candidates
        guard let winner = candidates.first(where: { $0.excluded == nil }) else {
            plan.decision = .noCandidates
            return plan
        }
        plan.owner = winner.node
        if winner.node != node {
            let me = candidates.first { $0.node == node }
            plan.decision = me?.excluded.map { .thisNodeExcluded($0, winner: winner.node) } ?? .notOwner(winner: winner.node)
            return plan
        }
        // Interfaces: the union of the selecting advertisements' lists; empty means "every eligible interface".
        let labels = nodes[node]?.metadata.labels ?? [:]
        let selecting = ads.filter { $0.selectsNode(labels: labels) }
        plan.interfaces = selecting.contains { $0.interfaces.isEmpty } ? [] : Array(Set(selecting.flatMap(\.interfaces))).sorted()
        plan.decision = .announce
        return plan
    }

    /// Why a node cannot announce in layer 2 whatever the Service: not a live member, NetworkUnavailable, or the
    /// exclude label.
    static func nodeExclusion(_ name: String, node: Node?, members: Set<String>, ignoreExcludeLabel: Bool) -> CandidateExclusion? {
        if !members.contains(name) { return .notAMember }
        if node?.isNetworkUnavailable == true { return .networkUnavailable }
        if !ignoreExcludeLabel, node?.metadata.labels?[excludeLabel] != nil { return .excludedByLabel(excludeLabel) }
        return nil
    }

    /// For each L2Advertisement, the nodes that can announce for it now: the live members it selects that are
    /// neither NetworkUnavailable nor excluded by label. An advertisement with none leaves its Services unannounced.
    public static func layer2Nodes(_ snapshot: ClusterSnapshot) -> [String: [String]] {
        let nodes = Dictionary(snapshot.nodes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let members = snapshot.liveMembers ?? Set(nodes.keys)
        var out: [String: [String]] = [:]
        for ad in snapshot.configuration.l2Advertisements {
            out[ad.name] = nodes.keys.sorted().filter { name in
                nodeExclusion(name, node: nodes[name], members: members, ignoreExcludeLabel: snapshot.ignoreExcludeLabel) == nil
                    && ad.selectsNode(labels: nodes[name]?.metadata.labels ?? [:])
            }
        }
        return out
    }

    static func bgp(ips: [IPAddress], ads: [BGPAdvertisement], config: Configuration, node: Node?, nodeName: String,
                    endpoints: [Endpoint], endpointNodes: Set<String>, local: Bool, ignoreExcludeLabel: Bool) -> BGPDecision {
        let labels = node?.metadata.labels ?? [:]
        if node?.isNetworkUnavailable == true { return .networkUnavailable }
        if !ignoreExcludeLabel, labels[excludeLabel] != nil { return .nodeExcluded(label: excludeLabel) }
        guard !endpoints.isEmpty else { return .noServingEndpoints }
        if local, !endpointNodes.contains(nodeName) { return .noLocalEndpoint }
        let selecting = ads.filter { $0.selectsNode(labels: labels) }
        guard !selecting.isEmpty else { return .nodeNotSelected(advertisements: ads.map(\.name).sorted()) }
        let peers = config.peers(forNodeLabels: labels)
        var routes: [Route] = []
        for ip in ips {
            for ad in selecting {
                let prefix = IPPrefix(masking: ip, length: ad.aggregationLength(for: ip.family))
                let targets = peers.filter { (ad.peers.isEmpty || ad.peers.contains($0.name)) && $0.carries(ip.family) }.map(\.name).sorted()
                var attrs = RouteAttributes(localPreference: ad.localPref)
                for c in ad.communities {
                    switch c {
                    case .standard(let s): attrs.communities.insert(s)
                    case .large(let l): attrs.largeCommunities.insert(l)
                    }
                }
                routes.append(Route(prefix: prefix, attributes: attrs, peers: targets, advertisement: ad.name))
            }
        }
        // MetalLB's rule, the one validation applies: advertisements conflict on LOCAL_PREF only when they produce
        // the same prefix (the same aggregation length) for peers they share; different prefixes each carry their
        // own. Validation refuses such a configuration, so this is a second line only.
        for same in Dictionary(grouping: routes, by: \.prefix).values where same.count > 1 {
            for (i, a) in same.enumerated() {
                for b in same.dropFirst(i + 1) {
                    guard let x = a.attributes.localPreference, let y = b.attributes.localPreference, x != y,
                          !Set(a.peers).isDisjoint(with: b.peers) else { continue }
                    return .localPrefConflict([x, y].sorted())
                }
            }
        }
        return .announce(merge(routes))
    }

    /// Routes for the same prefix from several advertisements: one route per prefix and peer set, communities unioned.
    static func merge(_ routes: [Route]) -> [Route] {
        var byKey: [IPPrefix: Route] = [:]
        for r in routes {
            if var have = byKey[r.prefix] {
                if have.attributes.localPreference == nil { have.attributes.localPreference = r.attributes.localPreference }
                have.attributes.communities.formUnion(r.attributes.communities)
                have.attributes.largeCommunities.formUnion(r.attributes.largeCommunities)
                have.peers = Array(Set(have.peers).union(r.peers)).sorted()
                have.advertisement += "," + r.advertisement
                byKey[r.prefix] = have
            } else {
                byKey[r.prefix] = r
            }
        }
        return byKey.values.sorted { $0.prefix < $1.prefix }
    }

    /// MetalLB's ranking key: SHA-256 of `node#ip`, compared as bytes.
    public static func rankHash(node: String, ip: IPAddress) -> [UInt8] {
        Array(SHA256.hash(data: Array("\(node)#\(ip)".utf8)))
    }
}

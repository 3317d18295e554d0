import KubernetesModel
import NetworkPrimitives

/// Validates decoded resources into a `Configuration`, all or nothing: every rule is checked and every
/// violation reported, and a single error means no configuration at all.
struct ConfigurationValidator {
    var options: ValidationOptions
    var log: IssueLog
    /// Pool-selector lists already evaluated, to the names of the pools they match.
    private var selectorMatches: [[LabelSelector]: Set<String>] = [:]

    init(options: ValidationOptions, log: IssueLog) {
        self.options = options
        self.log = log
    }

    /// The kernel's TCP_MD5SIG_MAXKEYLEN (RFC 2385 keys): a longer key would be cut there, and the peer, holding the
    /// whole key, would drop every segment.
    static let maxMD5KeyBytes = 80

    static func md5KeyTooLong(_ bytes: Int) -> String {
        "the TCP MD5 password is \(bytes) bytes; the kernel takes at most \(maxMD5KeyBytes)"
    }

    // MARK: Issue helpers

    private mutating func error(_ meta: ResourceMeta, _ field: String, _ message: String) {
        log.error(meta.reference, field, message, at: position(meta, field), origin: meta.origin)
    }

    private mutating func warning(_ meta: ResourceMeta, _ field: String, _ message: String) {
        log.warning(meta.reference, field, message, at: position(meta, field), origin: meta.origin)
    }

    private func position(_ meta: ResourceMeta, _ field: String) -> SourcePosition? {
        meta.document?.deepestPosition(along: field) ?? meta.position
    }

    // MARK: Entry

    mutating func validate(_ resources: [ConfigResource]) -> Configuration? {
        var seen: [ObjectReference: ResourceMeta] = [:]
        var unique: [ConfigResource] = []
        for r in resources {
            let m = r.meta
            if let first = seen[m.reference] {
                error(m, "metadata.name", "duplicate \(m.kind.rawValue) \"\(m.name)\" (also defined at \(first.position?.description ?? first.origin ?? "another place"))")
                continue
            }
            seen[m.reference] = m
            unique.append(r)
        }
        var poolSpecs: [(ResourceMeta, IPAddressPoolSpec)] = []
        var l2Specs: [(ResourceMeta, L2AdvertisementSpec)] = []
        var bgpAdSpecs: [(ResourceMeta, BGPAdvertisementSpec)] = []
        var peerSpecs: [(ResourceMeta, BGPPeerSpec)] = []
        var communitySpecs: [(ResourceMeta, [CommunityAlias])] = []
        var bfdSpecs: [(ResourceMeta, BFDProfileSpec)] = []
        var secrets: [String: SecretSpec] = [:]
        for r in unique {
            switch r {
            case .ipAddressPool(let m, let s): poolSpecs.append((m, s))
            case .l2Advertisement(let m, let s): l2Specs.append((m, s))
            case .bgpAdvertisement(let m, let s): bgpAdSpecs.append((m, s))
            case .bgpPeer(let m, let s): peerSpecs.append((m, s))
            case .community(let m, let s): communitySpecs.append((m, s))
            case .bfdProfile(let m, let s): bfdSpecs.append((m, s))
            case .secret(let m, let s): secrets[m.name] = s
            }
        }
        let secretsProvided = options.secretsProvided ?? !secrets.isEmpty

        let aliases = validateCommunities(communitySpecs)
        let bfdProfiles = bfdSpecs.compactMap { validateBFDProfile($0.0, $0.1) }
        let pools = validatePools(poolSpecs)
        let poolsByName = Dictionary(pools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let allPoolNames = Set(poolSpecs.map { $0.0.name })
        let poolLabels = poolSpecs.map { (name: $0.0.name, labels: $0.0.labels) }

        var l2Ads: [L2Advertisement] = []
        var l2ByPool: [String: [Int]] = [:]
        for (m, s) in l2Specs {
            guard let ad = validateL2(m, s, poolNames: allPoolNames) else { continue }
            for p in selectedPools(names: ad.ipAddressPools, selectors: ad.ipAddressPoolSelectors, pools: poolLabels) {
                l2ByPool[p, default: []].append(l2Ads.count)
            }
            l2Ads.append(ad)
        }

        let peerNames = Set(peerSpecs.map { $0.0.name })
        var bgpAds: [(ResourceMeta, BGPAdvertisement, [String])] = []
        var bgpByPool: [String: [Int]] = [:]
        for (m, s) in bgpAdSpecs {
            guard let ad = validateBGPAdvertisement(m, s, aliases: aliases, poolNames: allPoolNames, peerNames: peerNames) else { continue }
            let selected = selectedPools(names: ad.ipAddressPools, selectors: ad.ipAddressPoolSelectors, pools: poolLabels)
            checkAggregation(m, ad, pools: selected.compactMap { poolsByName[$0] })
            for p in selected { bgpByPool[p, default: []].append(bgpAds.count) }
            bgpAds.append((m, ad, selected))
        }
        checkLocalPreferences(bgpAds, pools: poolsByName)
        if options.bgpImplementation == .metallbNative {
            for (m, _, selected) in bgpAds {
                for name in selected {
                    guard let pool = poolsByName[name], pool.families.contains(.ipv6) else { continue }
                    error(m, "spec", "pool \"\(name)\" has IPv6 addresses, which MetalLB's native BGP cannot advertise")
                }
            }
        }

        let bfdNames = Set(bfdSpecs.map { $0.0.name })
        let bfdEcho = Set(bfdSpecs.filter { $0.1.echoMode == true }.map { $0.0.name })
        var peers: [(ResourceMeta, BGPPeer)] = []
        for (m, s) in peerSpecs {
            if let p = validatePeer(m, s, bfdNames: bfdNames, bfdEcho: bfdEcho, secrets: secrets, secretsProvided: secretsProvided) {
                peers.append((m, p))
            }
        }
        checkPeerConflicts(peers)
        if options.bgpImplementation == .metallbFRR {
            checkFRRConstraints(peers, bfdProfiles: bfdProfiles, bgpAds: bgpAds, pools: poolsByName)
        }
        if options.bgpImplementation == .metallbNative {
            for (m, _) in bfdSpecs { error(m, "", "BFD profiles are not supported by MetalLB's native BGP mode") }
        }

        if log.hasErrors { return nil }
        return Configuration(pools: pools, l2Advertisements: l2Ads, bgpAdvertisements: bgpAds.map(\.1), peers: peers.map(\.1),
                             bfdProfiles: bfdProfiles, communityAliases: aliases, l2ByPool: l2ByPool, bgpByPool: bgpByPool)
    }

    /// Pools an advertisement applies to: those named, plus those its selectors match; all pools if neither is set.
    private mutating func selectedPools(names: [String], selectors: [LabelSelector], pools: [(name: String, labels: [String: String])]) -> [String] {
        if names.isEmpty && selectors.isEmpty { return pools.map(\.name) }
        // Advertisements tend to repeat selectors; match each distinct selector list against the pools once.
        let bySelector: Set<String>
        if selectors.isEmpty {
            bySelector = []
        } else if let cached = selectorMatches[selectors] {
            bySelector = cached
        } else {
            bySelector = Set(pools.filter { p in selectors.contains(where: { $0.matches(p.labels) }) }.map(\.name))
            selectorMatches[selectors] = bySelector
        }
        let named = Set(names)
        return pools.filter { named.contains($0.name) || bySelector.contains($0.name) }.map(\.name)
    }

    // MARK: Communities

    private mutating func validateCommunities(_ specs: [(ResourceMeta, [CommunityAlias])]) -> [String: Community] {
        var aliases: [String: Community] = [:]
        var definedBy: [String: String] = [:]
        for (m, list) in specs {
            for (i, alias) in list.enumerated() {
                let field = "spec.communities[\(i)]"
                guard let name = alias.name, !name.isEmpty else {
                    error(m, field + ".name", "every community alias needs a name")
                    continue
                }
                guard let value = alias.value, !value.isEmpty else {
                    error(m, field + ".value", "community alias \"\(name)\" has no value")
                    continue
                }
                if let other = definedBy[name] {
                    error(m, field + ".name", "duplicate definition of community \"\(name)\" (also in \(other))")
                    continue
                }
                switch parseCommunityLiteral(value) {
                case .success(let c):
                    aliases[name] = c
                    definedBy[name] = "\(m.reference) \(field)"
                case .failure(let message):
                    error(m, field + ".value", message.message)
                }
            }
        }
        return aliases
    }

    /// Parses a literal community, with MetalLB's distinction between a value that overflows ("invalid community
    /// value") and a wrong shape ("invalid community format").
    private func parseCommunityLiteral(_ text: String) -> Result<Community, CommunityProblem> {
        do {
            return .success(try Community(text))
        } catch {
            switch error.reason {
            case .valueOutOfRange:
                return .failure(CommunityProblem("invalid community value \"\(text)\": \(error.reason.shortText)"))
            default:
                return .failure(CommunityProblem("invalid community format \"\(text)\": use \"high:low\" (two 16-bit numbers), \"large:A:B:C\" (three 32-bit numbers), a well-known name or a Community alias"))
            }
        }
    }

    struct CommunityProblem: Error {
        var message: String
        init(_ m: String) { message = m }
    }

    // MARK: BFD profiles

    private mutating func validateBFDProfile(_ m: ResourceMeta, _ s: BFDProfileSpec) -> BFDProfile? {
        let before = log.issues.count
        func check(_ v: Int64?, _ field: String, _ range: ClosedRange<Int64>) -> UInt32? {
            guard let v else { return nil }
            if !range.contains(v) {
                error(m, "spec." + field, "\(v) is out of range (\(range.lowerBound)...\(range.upperBound))")
                return nil
            }
            return UInt32(v)
        }
        let rx = check(s.receiveInterval, "receiveInterval", 10...60000)
        let tx = check(s.transmitInterval, "transmitInterval", 10...60000)
        let mult = check(s.detectMultiplier, "detectMultiplier", 2...255)
        let echo = check(s.echoInterval, "echoInterval", 10...60000)
        let ttl = check(s.minimumTtl, "minimumTtl", 1...254)
        guard log.issues.count == before else { return nil }
        return BFDProfile(name: m.name, receiveInterval: rx ?? 300, transmitInterval: tx ?? 300, detectMultiplier: mult ?? 3,
                          echoInterval: echo ?? 50, echoMode: s.echoMode ?? false, passiveMode: s.passiveMode ?? false,
                          minimumTTL: ttl ?? 254)
    }

    // MARK: Pools

    private mutating func validatePools(_ specs: [(ResourceMeta, IPAddressPoolSpec)]) -> [AddressPool] {
        var pools: [AddressPool] = []
        // Every parsed range with its owner, to find overlaps within and across pools in one sort.
        var all: [(range: IPRange, text: String, meta: ResourceMeta, index: Int)] = []
        for (m, s) in specs {
            var ranges: [IPRange] = []
            if s.addresses.isEmpty {
                error(m, "spec.addresses", "pool has no prefixes defined")
            }
            var seenText: [String: Int] = [:]
            for (i, text) in s.addresses.enumerated() {
                let field = "spec.addresses[\(i)]"
                if let j = seenText[text] {
                    error(m, field, "duplicate entry \"\(text)\" (also spec.addresses[\(j)])")
                    continue
                }
                seenText[text] = i
                do {
                    let (range, hostBits) = try IPRange.parsePoolEntry(text)
                    if hostBits, let p = range.prefixes.first {
                        warning(m, field, "\"\(text)\" has host bits set; it is read as \(p) (as MetalLB reads it)")
                    }
                    ranges.append(range)
                    all.append((range, text, m, i))
                } catch {
                    self.error(m, field, Self.poolEntryMessage(text, error))
                }
            }
            var allocation: ServiceAllocation? = nil
            if let a = s.serviceAllocation {
                let priority = a.priority ?? 0
                if priority < 0 { error(m, "spec.serviceAllocation.priority", "\(priority) is negative; use 0 (none) or a positive number, lower wins") }
                var seenNS = Set<String>()
                for (i, ns) in a.namespaces.enumerated() {
                    let field = "spec.serviceAllocation.namespaces[\(i)]"
                    if let p = NameValidation.dns1123Label(ns) { error(m, field, "\"\(ns)\" \(p)") }
                    if !seenNS.insert(ns).inserted { error(m, field, "duplicate namespace \"\(ns)\"") }
                }
                checkDuplicateSelectors(m, "spec.serviceAllocation.namespaceSelectors", a.namespaceSelectors)
                checkDuplicateSelectors(m, "spec.serviceAllocation.serviceSelectors", a.serviceSelectors)
                allocation = ServiceAllocation(priority: Int(priority), namespaces: a.namespaces,
                                               namespaceSelectors: a.namespaceSelectors, serviceSelectors: a.serviceSelectors)
            }
            pools.append(AddressPool(name: m.name, labels: m.labels, ranges: ranges, entries: s.addresses,
                                     autoAssign: s.autoAssign ?? true, avoidBuggyIPs: s.avoidBuggyIPs ?? false,
                                     serviceAllocation: allocation))
        }
        // Overlaps: after sorting by first address, a range overlaps an earlier one iff it starts at or before
        // the furthest end seen so far (per family).
        all.sort { $0.range < $1.range }
        var furthest: (range: IPRange, text: String, meta: ResourceMeta, index: Int)? = nil
        for entry in all {
            if let f = furthest, f.range.family == entry.range.family, entry.range.first <= f.range.last {
                let where_ = f.meta.reference == entry.meta.reference ? "spec.addresses[\(f.index)]" : "\(f.meta.reference) spec.addresses[\(f.index)]"
                error(entry.meta, "spec.addresses[\(entry.index)]", "CIDR \"\(entry.text)\" in pool \"\(entry.meta.name)\" overlaps with already defined CIDR \"\(f.text)\" (\(where_))")
                if entry.range.last > f.range.last { furthest = entry }
            } else {
                furthest = entry
            }
        }
        return pools
    }

    static func poolEntryMessage(_ text: String, _ error: NetworkParseError) -> String {
        switch error.reason {
        case .reversedRange: return "range \(text) is reversed (the start IP is after the end IP)"
        case .mixedFamilies: return "range \(text) mixes IPv4 and IPv6"
        default:
            if error.subject == .range { return "invalid IP range \"\(text)\": \(error.reason.shortText)" }
            return "invalid CIDR \"\(text)\": \(error.reason.shortText)"
        }
    }

    private mutating func checkDuplicateSelectors(_ m: ResourceMeta, _ field: String, _ selectors: [LabelSelector]) {
        var seen: [LabelSelector: Int] = [:]
        for (i, s) in selectors.enumerated() {
            if let j = seen[s] { error(m, "\(field)[\(i)]", "duplicate selector (same as \(field)[\(j)])") } else { seen[s] = i }
        }
    }

    private mutating func checkDuplicates(_ m: ResourceMeta, _ field: String, _ values: [String], what: String) {
        var seen: [String: Int] = [:]
        for (i, v) in values.enumerated() {
            if let j = seen[v] { error(m, "\(field)[\(i)]", "duplicate \(what) \"\(v)\" (also \(field)[\(j)])") } else { seen[v] = i }
        }
    }

    private mutating func checkPoolReferences(_ m: ResourceMeta, _ names: [String], poolNames: Set<String>) {
        for (i, name) in names.enumerated() where !poolNames.contains(name) {
            error(m, "spec.ipAddressPools[\(i)]", "IPAddressPool \"\(name)\" does not exist")
        }
        checkDuplicates(m, "spec.ipAddressPools", names, what: "pool")
    }

    // MARK: L2

    private mutating func validateL2(_ m: ResourceMeta, _ s: L2AdvertisementSpec, poolNames: Set<String>) -> L2Advertisement? {
        let before = log.issues.filter { $0.severity == .error }.count
        checkPoolReferences(m, s.ipAddressPools, poolNames: poolNames)
        checkDuplicateSelectors(m, "spec.ipAddressPoolSelectors", s.ipAddressPoolSelectors)
        checkDuplicateSelectors(m, "spec.nodeSelectors", s.nodeSelectors)
        checkDuplicateSelectors(m, "spec.serviceSelectors", s.serviceSelectors)
        checkDuplicates(m, "spec.interfaces", s.interfaces, what: "interface")
        for (i, name) in s.interfaces.enumerated() {
            if let p = Self.interfaceNameProblem(name) { error(m, "spec.interfaces[\(i)]", p) }
        }
        var seenPreferences: [LabelSelector: Int] = [:]
        for (i, p) in s.preferredNodeSelectors.enumerated() {
            if let j = seenPreferences[p.preference] {
                error(m, "spec.preferredNodeSelectors[\(i)].preference", "duplicate preference (same as spec.preferredNodeSelectors[\(j)])")
            } else { seenPreferences[p.preference] = i }
        }
        guard log.issues.filter({ $0.severity == .error }).count == before else { return nil }
        return L2Advertisement(name: m.name, ipAddressPools: s.ipAddressPools, ipAddressPoolSelectors: s.ipAddressPoolSelectors,
                               nodeSelectors: s.nodeSelectors, interfaces: s.interfaces, serviceSelectors: s.serviceSelectors,
                               preferredNodeSelectors: s.preferredNodeSelectors)
    }

    /// Linux interface names: 1–15 bytes, no '/', ':' or whitespace, not "." or "..".
    static func interfaceNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "interface name is empty" }
        if name.utf8.count > 15 { return "interface name \"\(name)\" is longer than 15 characters (Linux IFNAMSIZ)" }
        if name == "." || name == ".." || name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) {
            return "\"\(name)\" is not a valid interface name"
        }
        return nil
    }

    // MARK: BGP advertisements

    private mutating func validateBGPAdvertisement(_ m: ResourceMeta, _ s: BGPAdvertisementSpec, aliases: [String: Community],
                                                   poolNames: Set<String>, peerNames: Set<String>) -> BGPAdvertisement? {
        let agg4 = Int(s.aggregationLength ?? 32)
        let agg6 = Int(s.aggregationLengthV6 ?? 128)
        if !(1...32).contains(agg4) { error(m, "spec.aggregationLength", "invalid aggregation length \(agg4): must be between 1 and 32") }
        if !(0...128).contains(agg6) { error(m, "spec.aggregationLengthV6", "invalid aggregation length \(agg6): must be between 0 and 128") }
        if !s.serviceSelectors.isEmpty && (agg4 != 32 || agg6 != 128) {
            error(m, "spec.serviceSelectors", "serviceSelectors cannot be combined with a non-default aggregationLength or aggregationLengthV6 (an aggregate covers more than the selected services)")
        }
        var communities: [Community] = []
        var seen: [Community: Int] = [:]
        for (i, text) in s.communities.enumerated() {
            let field = "spec.communities[\(i)]"
            let community: Community
            if let alias = aliases[text] {
                community = alias
            } else {
                switch parseCommunityLiteral(text) {
                case .success(let c): community = c
                case .failure(let p):
                    let looksLikeAlias = !text.contains(":") && BGPCommunity.wellKnown[text] == nil
                    error(m, field, looksLikeAlias
                        ? "invalid community format \"\(text)\": no Community defines the alias \"\(text)\" and it is not a well-known community"
                        : p.message)
                    continue
                }
            }
            if case .large = community, options.bgpImplementation == .metallbNative {
                error(m, field, "large community \"\(text)\" is not supported by MetalLB's native BGP mode")
            }
            if let j = seen[community] {
                error(m, field, "duplicate community \"\(text)\" (same value as spec.communities[\(j)])")
                continue
            }
            seen[community] = i
            communities.append(community)
        }
        checkPoolReferences(m, s.ipAddressPools, poolNames: poolNames)
        checkDuplicates(m, "spec.peers", s.peers, what: "peer")
        for (i, p) in s.peers.enumerated() where !peerNames.contains(p) {
            warning(m, "spec.peers[\(i)]", "BGPPeer \"\(p)\" does not exist; no session matches this name yet")
        }
        checkDuplicateSelectors(m, "spec.ipAddressPoolSelectors", s.ipAddressPoolSelectors)
        checkDuplicateSelectors(m, "spec.nodeSelectors", s.nodeSelectors)
        checkDuplicateSelectors(m, "spec.serviceSelectors", s.serviceSelectors)
        // Returned even when invalid, so the cross-object checks (aggregation, local preference) still run and
        // report everything at once; the configuration as a whole is rejected anyway.
        let localPref = s.localPref.flatMap { $0 == 0 ? nil : UInt32($0) }
        return BGPAdvertisement(name: m.name, aggregationLength: agg4, aggregationLengthV6: agg6, localPref: localPref,
                                communities: communities, ipAddressPools: s.ipAddressPools,
                                ipAddressPoolSelectors: s.ipAddressPoolSelectors, nodeSelectors: s.nodeSelectors,
                                peers: s.peers, serviceSelectors: s.serviceSelectors)
    }

    /// An aggregate must not be shorter than a pool prefix, or it would cover addresses outside the pool.
    private mutating func checkAggregation(_ m: ResourceMeta, _ ad: BGPAdvertisement, pools: [AddressPool]) {
        for pool in pools {
            for prefix in pool.prefixes {
                let agg = ad.aggregationLength(for: prefix.family)
                // An out-of-range length is already reported; comparing it to prefixes would only add noise.
                guard (prefix.family == .ipv4 ? 1...32 : 0...128).contains(agg) else { continue }
                if prefix.length > agg {
                    let field = prefix.family == .ipv4 ? "spec.aggregationLength" : "spec.aggregationLengthV6"
                    error(m, field, "invalid aggregation length \(agg): prefix \(prefix) in pool \"\(pool.name)\" is more specific than the aggregation length")
                    return
                }
            }
        }
    }

    /// Two advertisements of one pool with the same aggregation, reaching a common node and peer, must agree on
    /// LOCAL_PREF, or a router would get two different values for one prefix from one node. Aggregation is
    /// compared per family, over the families the shared pools actually hold.
    private mutating func checkLocalPreferences(_ ads: [(ResourceMeta, BGPAdvertisement, [String])], pools: [String: AddressPool]) {
        for i in ads.indices {
            for j in ads.indices where j > i {
                let (ma, a, pa) = ads[i]
                let (_, b, pb) = ads[j]
                guard a.localPref != b.localPref else { continue }
                let sharedPools = Set(pa).intersection(pb).sorted()
                let families = Set(sharedPools.flatMap { pools[$0]?.families ?? [] })
                guard let pool = sharedPools.first,
                      families.contains(where: { a.aggregationLength(for: $0) == b.aggregationLength(for: $0) }),
                      a.nodeSelectors.mayOverlap(b.nodeSelectors),
                      a.peers.isEmpty || b.peers.isEmpty || !Set(a.peers).isDisjoint(with: b.peers)
                else { continue }
                error(ma, "spec.localPref", "invalid local preference \(a.localPref ?? 0): BGPAdvertisement/\(b.name) announces pool \"\(pool)\" with the same aggregation to the same nodes and peers with local preference \(b.localPref ?? 0)")
            }
        }
    }

    // MARK: Peers

    private mutating func validatePeer(_ m: ResourceMeta, _ s: BGPPeerSpec, bfdNames: Set<String>, bfdEcho: Set<String>,
                                       secrets: [String: SecretSpec], secretsProvided: Bool) -> BGPPeer? {
        let errorsBefore = log.errors.count
        let native = options.bgpImplementation == .metallbNative
        let beacon = options.bgpImplementation == .beacon

        var myASN = ASN(0)
        if let v = s.myASN, v != 0 {
            myASN = ASN(UInt32(v))
            if myASN == .trans { error(m, "spec.myASN", "23456 is AS_TRANS (RFC 6793) and cannot be a speaker's own AS number") }
        } else {
            error(m, "spec.myASN", "missing local ASN")
        }
        var localASN: ASN? = nil
        if let v = s.localASN, v != 0 {
            localASN = ASN(UInt32(v))
            if native { error(m, "spec.localASN", "localASN is not supported by MetalLB's native BGP mode") }
        }
        var peerASN: PeerASN = .dynamicExternal
        let hasPeerASN = (s.peerASN ?? 0) != 0
        switch (hasPeerASN, s.dynamicASN) {
        case (false, nil):
            error(m, "spec.peerASN", "missing peer ASN and dynamicASN: set one of them")
        case (true, .some):
            error(m, "spec.dynamicASN", "peerASN and dynamicASN are mutually exclusive")
        case (true, nil):
            peerASN = .fixed(ASN(UInt32(s.peerASN ?? 0)))
            if peerASN == .fixed(.trans) { error(m, "spec.peerASN", "23456 is AS_TRANS (RFC 6793) and cannot be a peer's AS number") }
        case (false, let mode?):
            switch mode {
            case "internal": peerASN = .dynamicInternal
            case "external": peerASN = .dynamicExternal
            default: error(m, "spec.dynamicASN", "\"\(mode)\" must be internal or external")
            }
            if native { error(m, "spec.dynamicASN", "dynamicASN is not supported by MetalLB's native BGP mode") }
        }

        var address: IPAddress? = nil
        switch (s.peerAddress, s.interface) {
        case (nil, nil):
            error(m, "spec.peerAddress", "one of peerAddress or interface is required")
        case (.some, .some):
            error(m, "spec.interface", "peerAddress and interface are mutually exclusive")
        case (let text?, nil):
            do {
                let a = try IPAddress(text).unmapped
                if case .v6(let v6) = a, v6.isLinkLocal {
                    error(m, "spec.peerAddress", "link-local peer address \(text) needs an interface; use an unnumbered peer (interface) instead")
                }
                address = a
            } catch {
                self.error(m, "spec.peerAddress", "invalid peer IP \"\(text)\": \(error.reason.shortText)")
            }
        case (nil, let iface?):
            if let p = Self.interfaceNameProblem(iface) { error(m, "spec.interface", p) }
            if native { error(m, "spec.interface", "unnumbered peers (interface) are not supported by MetalLB's native BGP mode") }
            if beacon { warning(m, "spec.interface", "unnumbered peers (interface) are not supported by Beacon's BGP speaker yet: this peer gets no session") }
        }
        var sourceAddress: IPAddress? = nil
        if let text = s.sourceAddress, !text.isEmpty {
            do {
                let a = try IPAddress(text).unmapped
                if let address, a.family != address.family {
                    error(m, "spec.sourceAddress", "source address \(text) is \(a.family) but the peer address is \(address.family)")
                }
                sourceAddress = a
            } catch {
                self.error(m, "spec.sourceAddress", "invalid source address \"\(text)\": \(error.reason.shortText)")
            }
        }
        var routerID: IPv4Address? = nil
        if let text = s.routerID, !text.isEmpty {
            do { routerID = try IPv4Address(text) } catch {
                self.error(m, "spec.routerID", "invalid router ID \"\(text)\": a router ID is written as an IPv4 address")
            }
        }
        var port: UInt16 = 179
        if let p = s.peerPort, p != 0 {
            if p > 16384 { error(m, "spec.peerPort", "\(p) is out of range (1...16384)") } else { port = UInt16(p) }
        }

        // Timers (RFC 4271 §4.2: hold time 0 or at least 3 s; keepalive at most a third of it by default).
        var hold = Duration.seconds(90)
        var keepalive = Duration.seconds(30)
        switch (s.holdTime, s.keepaliveTime) {
        case (nil, nil): break
        case (let h?, nil):
            hold = h
            keepalive = h / 3
        case (nil, let k?):
            keepalive = k
            hold = k * 3
        case (let h?, let k?):
            hold = h
            keepalive = k
        }
        if let h = s.holdTime {
            if h < .zero || (h != .zero && h < .seconds(3)) {
                error(m, "spec.holdTime", "invalid hold time \"\(GoDuration.format(h))\": must be 0 or at least 3s")
            } else if h > .seconds(65535) {
                error(m, "spec.holdTime", "invalid hold time \"\(GoDuration.format(h))\": must be at most 65535s")
            }
        }
        if let k = s.keepaliveTime {
            if native { error(m, "spec.keepaliveTime", "keepaliveTime is not supported by MetalLB's native BGP mode") }
            if k < .zero { error(m, "spec.keepaliveTime", "invalid keepalive time \"\(GoDuration.format(k))\": must not be negative") }
            else if k > hold { error(m, "spec.keepaliveTime", "invalid keepalive time \"\(GoDuration.format(k))\": must be lower than the hold time \(GoDuration.format(hold))") }
            else if s.holdTime == nil && hold > .seconds(65535) {
                error(m, "spec.keepaliveTime", "invalid keepalive time \"\(GoDuration.format(k))\": the derived hold time \(GoDuration.format(hold)) exceeds 65535s")
            }
        }
        if let c = s.connectTime {
            if native { error(m, "spec.connectTime", "connectTime is not supported by MetalLB's native BGP mode") }
            let (secs, attos) = c.components
            if attos != 0 { error(m, "spec.connectTime", "connect time should contain a whole number of seconds") }
            else if secs < 1 || secs > 65535 { error(m, "spec.connectTime", "connect time should be between 1 seconds to 65535") }
        }

        var password: PeerPassword? = nil
        let hasSecret = s.passwordSecret != nil
        if let pw = s.password, !pw.isEmpty {
            if hasSecret { error(m, "spec.passwordSecret", "password and passwordSecret are mutually exclusive") }
            if pw.utf8.count > Self.maxMD5KeyBytes { error(m, "spec.password", Self.md5KeyTooLong(pw.utf8.count)) }
            password = .inline(pw)
        }
        if let ref = s.passwordSecret, !(s.password.map { !$0.isEmpty } ?? false) {
            if let ns = ref.namespace, ns != options.namespace {
                error(m, "spec.passwordSecret.namespace", "the password Secret must be in the \"\(options.namespace)\" namespace, not \"\(ns)\"")
            }
            if let name = ref.name, !name.isEmpty {
                if let secret = secrets[name] {
                    if secret.type != "kubernetes.io/basic-auth" {
                        error(m, "spec.passwordSecret", "Secret \"\(name)\" has type \"\(secret.type ?? "Opaque")\"; a BGP password Secret must be of type kubernetes.io/basic-auth")
                    } else if let value = secret.data["password"] {
                        if value.utf8.count > Self.maxMD5KeyBytes {
                            error(m, "spec.passwordSecret", "Secret \"\(name)\": " + Self.md5KeyTooLong(value.utf8.count))
                        }
                        password = .secret(name: name, value: value)
                    } else {
                        error(m, "spec.passwordSecret", "Secret \"\(name)\" has no \"password\" key")
                    }
                } else if secretsProvided {
                    error(m, "spec.passwordSecret", "Secret \"\(name)\" not found in namespace \"\(options.namespace)\"")
                } else {
                    warning(m, "spec.passwordSecret", "Secret \"\(name)\" is not part of this input; the speaker reads it at runtime")
                    password = .secret(name: name, value: nil)
                }
            } else {
                error(m, "spec.passwordSecret.name", "passwordSecret needs a name")
            }
        }

        if let b = s.bfdProfile, !b.isEmpty {
            if native { error(m, "spec.bfdProfile", "BFD is not supported by MetalLB's native BGP mode") }
            else if !bfdNames.contains(b) { error(m, "spec.bfdProfile", "BFD profile \"\(b)\" not found") }
            else if beacon, bfdEcho.contains(b) {
                warning(m, "spec.bfdProfile", "BFD profile \"\(b)\" asks for echo mode, which Beacon does not run: BFD runs in asynchronous mode")
            }
        }
        let isIBGP: Bool = {
            switch peerASN {
            case .fixed(let a): return a == (localASN ?? myASN)
            case .dynamicInternal: return true
            case .dynamicExternal: return false
            }
        }()
        if s.ebgpMultiHop == true && isIBGP && myASN.value != 0 {
            error(m, "spec.ebgpMultiHop", "invalid ebgp-multihop parameter set for an ibgp peer")
        }
        if s.enableGracefulRestart == true && native {
            error(m, "spec.enableGracefulRestart", "graceful restart is not supported by MetalLB's native BGP mode")
        }
        if let vrf = s.vrf, !vrf.isEmpty {
            if native { error(m, "spec.vrf", "VRFs are not supported by MetalLB's native BGP mode") }
            if beacon { warning(m, "spec.vrf", "VRFs are not supported by Beacon's BGP speaker yet: this peer gets no session (it is never peered from the default table instead)") }
        }
        if s.disableMP == true && native { error(m, "spec.disableMP", "disableMP is not supported by MetalLB's native BGP mode") }
        if s.disableMP == true && beacon {
            warning(m, "spec.disableMP", "disableMP has no effect, as in MetalLB: a session carries its transport's address family, and both with dualStackAddressFamily")
        }
        if s.dualStackAddressFamily == true && native {
            error(m, "spec.dualStackAddressFamily", "dualStackAddressFamily is not supported by MetalLB's native BGP mode")
        }
        checkDuplicateSelectors(m, "spec.nodeSelectors", s.nodeSelectors)
        var ttlSecurityHops: Int?
        if let text = m.annotations[Self.ttlSecurityAnnotation] {
            let field = "metadata.annotations[\(Self.ttlSecurityAnnotation)]"
            if let hops = Int(text), (1...254).contains(hops) {
                ttlSecurityHops = hops
                if s.ebgpMultiHop == true { error(m, field, "TTL security and ebgpMultiHop are mutually exclusive: GTSM sets the hop limit") }
                if native { error(m, field, "TTL security is not supported by MetalLB's native BGP mode") }
            } else {
                error(m, field, "must be a number of hops from 1 to 254, not \"\(text)\"")
            }
        }

        guard log.errors.count == errorsBefore else { return nil }
        var validated = BGPPeer(name: m.name, myASN: myASN, peerASN: peerASN, localASN: localASN, address: address,
                       interface: s.interface, sourceAddress: sourceAddress, port: port, holdTime: hold,
                       keepaliveTime: keepalive, connectTime: s.connectTime, routerID: routerID,
                       nodeSelectors: s.nodeSelectors, password: password, bfdProfile: s.bfdProfile.flatMap { $0.isEmpty ? nil : $0 },
                       enableGracefulRestart: s.enableGracefulRestart ?? false, ebgpMultiHop: s.ebgpMultiHop ?? false,
                       vrf: s.vrf.flatMap { $0.isEmpty ? nil : $0 }, disableMP: s.disableMP ?? false,
                       dualStackAddressFamily: s.dualStackAddressFamily ?? false)
        validated.ttlSecurityHops = ttlSecurityHops
        return validated
    }

    /// GTSM on a BGPPeer: a Beacon annotation, so that the object stays valid under MetalLB's CRD.
    static let ttlSecurityAnnotation = "beacon.io/ttl-security-hops"

    /// Duplicate peers: identical sessions under two names, or two sessions to one router address (and VRF,
    /// port) from a node both could apply to.
    private mutating func checkPeerConflicts(_ peers: [(ResourceMeta, BGPPeer)]) {
        // Identical peers: hash each peer with its name blanked.
        var firstByContent: [BGPPeer: String] = [:]
        var identical = Set<Int>()
        for (i, (m, p)) in peers.enumerated() {
            var nameless = p
            nameless.name = ""
            if let first = firstByContent[nameless] {
                error(m, "spec", "duplicate of BGPPeer/\(first): the two peers are identical")
                identical.insert(i)
            } else {
                firstByContent[nameless] = p.name
            }
        }
        // Sessions to one router address (and port, VRF) from nodes both peers may apply to.
        struct SessionKey: Hashable { var address: IPAddress; var port: UInt16; var vrf: String? }
        var byKey: [SessionKey: [Int]] = [:]
        for (i, (_, p)) in peers.enumerated() where !identical.contains(i) {
            guard let address = p.address else { continue }
            byKey[SessionKey(address: address, port: p.port, vrf: p.vrf), default: []].append(i)
        }
        for group in byKey.values where group.count > 1 {
            for (x, i) in group.enumerated() {
                for j in group[(x + 1)...] {
                    let a = peers[i].1, (mb, b) = peers[j]
                    guard a.nodeSelectors.mayOverlap(b.nodeSelectors) else { continue }
                    error(mb, "spec.peerAddress", "BGPPeer/\(a.name) already peers with \(a.address?.description ?? "") port \(a.port)\(a.vrf.map { " in VRF \($0)" } ?? "") from the same nodes; a node can hold one session per router address")
                }
            }
        }
    }

    /// FRR's per-node constraints: one router ID and one ASN per VRF on a node; no BFD echo mode for IPv6 pools.
    private mutating func checkFRRConstraints(_ peers: [(ResourceMeta, BGPPeer)], bfdProfiles: [BFDProfile],
                                              bgpAds: [(ResourceMeta, BGPAdvertisement, [String])], pools: [String: AddressPool]) {
        for i in peers.indices {
            for j in peers.indices where j > i {
                let (_, a) = peers[i]
                let (mb, b) = peers[j]
                guard a.nodeSelectors.mayOverlap(b.nodeSelectors) else { continue }
                if let ra = a.routerID, let rb = b.routerID, ra != rb {
                    error(mb, "spec.routerID", "BGPPeer/\(a.name) may run on the same nodes with router ID \(a.routerID?.description ?? ""); FRR needs one router ID per node")
                }
                if a.vrf == b.vrf && a.myASN != b.myASN {
                    error(mb, "spec.myASN", "BGPPeer/\(a.name) may run on the same nodes in the same VRF with myASN \(a.myASN); FRR needs one myASN per VRF")
                }
            }
        }
        let hasIPv6Pool = bgpAds.contains { ad in ad.2.contains { pools[$0]?.families.contains(.ipv6) ?? false } }
        if hasIPv6Pool {
            for (m, p) in peers {
                guard let name = p.bfdProfile, let profile = bfdProfiles.first(where: { $0.name == name }), profile.echoMode else { continue }
                error(m, "spec.bfdProfile", "BFD profile \"\(name)\" uses echo mode, which FRR cannot run for IPv6 pools")
            }
        }
    }
}

extension NetworkParseError.Reason {
    /// The reason without repeating the input, for messages that already quote it.
    var shortText: String { text }
}

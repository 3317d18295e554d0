import KubernetesModel

/// Converts MetalLB's legacy ConfigMap configuration (`peers`, `bgp-communities`, `address-pools`,
/// `bfd-profiles`) into the same resources the CRDs produce, named as MetalLB's `configmaptocrs` names them:
/// pools and BFD profiles keep their names, peers become `peer1`…, BGP advertisements `bgpadvertisement1`…,
/// L2 advertisements `l2advertisement1`…, and the aliases one Community `communities`.
/// Every converted object remembers where it came from, so issues point back into the ConfigMap.
struct LegacyConfigConverter {
    var options: ValidationOptions

    func convert(_ document: ConfigNode, origin: String, log: inout IssueLog, into out: inout [ConfigResource]) {
        let context = DecodeContext(log: log, object: nil, origin: origin)
        defer { log = context.log }
        let root = FieldReader(document, path: "", context: context)
        guard let top = root.fields(known: ["peers", "bgp-communities", "address-pools", "bfd-profiles"]) else { return }

        func meta(_ kind: ResourceKind, _ name: String, _ reader: FieldReader, apiVersion: String = "metallb.io/v1beta1") -> ResourceMeta {
            ResourceMeta(kind: kind, apiVersion: apiVersion, name: name, namespace: options.namespace, labels: [:],
                         position: reader.node.position, document: nil, origin: "\(origin): \(reader.path)")
        }

        for (i, item) in (top["peers"]?.items() ?? []).enumerated() {
            context.object = ObjectReference(kind: "BGPPeer", name: "peer\(i + 1)")
            context.origin = "\(origin): \(item.path)"
            guard let f = item.fields(known: ["my-asn", "peer-asn", "peer-address", "source-address", "peer-port", "hold-time",
                                              "keepalive-time", "router-id", "node-selectors", "password", "bfd-profile",
                                              "ebgp-multihop"]) else { continue }
            var spec = BGPPeerSpec()
            spec.myASN = f["my-asn"]?.integer(in: 0...Int64(UInt32.max))
            spec.peerASN = f["peer-asn"]?.integer(in: 0...Int64(UInt32.max))
            spec.peerAddress = f["peer-address"]?.string()
            spec.sourceAddress = f["source-address"]?.string()
            spec.peerPort = f["peer-port"]?.integer(in: 0...65535)
            spec.holdTime = f["hold-time"]?.duration()
            spec.keepaliveTime = f["keepalive-time"]?.duration()
            spec.routerID = f["router-id"]?.string()
            spec.nodeSelectors = f["node-selectors"]?.labelSelectors(legacyKeys: true) ?? []
            spec.password = f["password"]?.string()
            spec.bfdProfile = f["bfd-profile"]?.string()
            spec.ebgpMultiHop = f["ebgp-multihop"]?.bool()
            out.append(.bgpPeer(meta(.bgpPeer, "peer\(i + 1)", item, apiVersion: "metallb.io/v1beta2"), spec))
        }

        if let communities = top["bgp-communities"], !communities.isNull {
            context.object = ObjectReference(kind: "Community", name: "communities")
            context.origin = "\(origin): bgp-communities"
            if let map = communities.stringMap() {
                let aliases = map.keys.sorted().map { CommunityAlias(name: $0, value: map[$0]) }
                out.append(.community(meta(.community, "communities", communities), aliases))
            }
        }

        var bgpAdCount = 0, l2AdCount = 0
        for item in top["address-pools"]?.items() ?? [] {
            let poolName = item.node["name"]?.scalarText ?? "?"
            context.object = ObjectReference(kind: "IPAddressPool", name: poolName)
            context.origin = "\(origin): \(item.path)"
            guard let f = item.fields(known: ["name", "protocol", "addresses", "auto-assign", "avoid-buggy-ips", "bgp-advertisements"]) else { continue }
            guard let name = f["name"]?.string(), !name.isEmpty else {
                item.error("every address pool needs a name")
                continue
            }
            var spec = IPAddressPoolSpec()
            spec.addresses = f["addresses"]?.strings() ?? []
            spec.autoAssign = f["auto-assign"]?.bool()
            spec.avoidBuggyIPs = f["avoid-buggy-ips"]?.bool()
            out.append(.ipAddressPool(meta(.ipAddressPool, name, item), spec))

            let proto = f["protocol"]?.string()
            switch proto {
            case "layer2":
                l2AdCount += 1
                var ad = L2AdvertisementSpec()
                ad.ipAddressPools = [name]
                out.append(.l2Advertisement(meta(.l2Advertisement, "l2advertisement\(l2AdCount)", item), ad))
            case "bgp":
                let ads = f["bgp-advertisements"]?.items() ?? []
                if ads.isEmpty {
                    bgpAdCount += 1
                    var ad = BGPAdvertisementSpec()
                    ad.ipAddressPools = [name]
                    out.append(.bgpAdvertisement(meta(.bgpAdvertisement, "bgpadvertisement\(bgpAdCount)", item), ad))
                }
                for adItem in ads {
                    bgpAdCount += 1
                    context.object = ObjectReference(kind: "BGPAdvertisement", name: "bgpadvertisement\(bgpAdCount)")
                    context.origin = "\(origin): \(adItem.path)"
                    guard let af = adItem.fields(known: ["aggregation-length", "aggregation-length-v6", "localpref", "communities"]) else { continue }
                    var ad = BGPAdvertisementSpec()
                    ad.ipAddressPools = [name]
                    ad.aggregationLength = af["aggregation-length"]?.integer(in: Int64(Int32.min)...Int64(Int32.max))
                    ad.aggregationLengthV6 = af["aggregation-length-v6"]?.integer(in: Int64(Int32.min)...Int64(Int32.max))
                    ad.localPref = af["localpref"]?.integer(in: 0...Int64(UInt32.max))
                    ad.communities = af["communities"]?.strings() ?? []
                    out.append(.bgpAdvertisement(meta(.bgpAdvertisement, "bgpadvertisement\(bgpAdCount)", adItem), ad))
                }
            case nil:
                f["name"]?.error("protocol is required (layer2 or bgp)")
            case let other?:
                f["protocol"]?.warning("\"\(other)\" is not layer2 or bgp; the pool is converted without an advertisement, as MetalLB's converter does")
            }
        }

        for item in top["bfd-profiles"]?.items() ?? [] {
            let name = item.node["name"]?.scalarText ?? "?"
            context.object = ObjectReference(kind: "BFDProfile", name: name)
            context.origin = "\(origin): \(item.path)"
            guard let f = item.fields(known: ["name", "receive-interval", "transmit-interval", "detect-multiplier", "echo-interval",
                                              "echo-mode", "passive-mode", "minimum-ttl"]) else { continue }
            guard let name = f["name"]?.string(), !name.isEmpty else {
                item.error("every BFD profile needs a name")
                continue
            }
            let u32: ClosedRange<Int64> = 0...Int64(UInt32.max)
            var spec = BFDProfileSpec()
            spec.receiveInterval = f["receive-interval"]?.integer(in: u32)
            spec.transmitInterval = f["transmit-interval"]?.integer(in: u32)
            spec.detectMultiplier = f["detect-multiplier"]?.integer(in: u32)
            spec.echoInterval = f["echo-interval"]?.integer(in: u32)
            spec.echoMode = f["echo-mode"]?.bool()
            spec.passiveMode = f["passive-mode"]?.bool()
            spec.minimumTtl = f["minimum-ttl"]?.integer(in: u32)
            out.append(.bfdProfile(meta(.bfdProfile, name, item), spec))
        }
    }
}

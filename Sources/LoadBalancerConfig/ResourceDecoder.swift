import KubernetesModel

/// Turns parsed documents into `ConfigResource`s: dispatches on apiVersion/kind, unwraps `List` objects,
/// converts MetalLB's legacy `config` ConfigMap, and reports type errors and unknown fields per object.
struct ResourceDecoder {
    var options: ValidationOptions

    static let metadataFields = ["name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
                                 "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers",
                                 "ownerReferences", "managedFields", "generateName", "selfLink"]

    /// Kinds of metallb.io that carry status or runtime state rather than configuration: skipped quietly.
    static let metallbStatusKinds: Set<String> = ["ServiceL2Status", "ServiceBGPStatus", "ConfigurationState"]

    func decode(_ document: ConfigNode, log: inout IssueLog, into out: inout [ConfigResource]) {
        guard case .mapping = document.value else {
            log.error(nil, "", "a document must be a map with apiVersion and kind, got \(document.kindName)", at: document.position)
            return
        }
        let kindNode = document["kind"]
        let kind = kindNode?.scalarText
        let apiVersion = document["apiVersion"]?.scalarText ?? ""
        if kind == nil, document["address-pools"] != nil || document["peers"] != nil || document["bgp-communities"] != nil {
            // A bare legacy configuration, as the `config` key of MetalLB's ConfigMap holds it.
            LegacyConfigConverter(options: options).convert(document, origin: "legacy config", log: &log, into: &out)
            return
        }
        guard let kind, !kind.isEmpty else {
            log.error(nil, "kind", "every object needs a kind (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, Community, BFDProfile)", at: document.position)
            return
        }
        if kind == "List" || (kind.hasSuffix("List") && document["items"] != nil) {
            let context = DecodeContext(log: log, object: nil)
            let items = FieldReader(document, path: "", context: context).fields(known: ["apiVersion", "kind", "metadata", "items"])?["items"]?.items() ?? []
            log = context.log
            for item in items { decode(item.node, log: &log, into: &out) }
            return
        }
        let group = apiVersion.split(separator: "/").first.map(String.init) ?? ""
        switch (group, kind) {
        case ("v1", "ConfigMap"):
            decodeConfigMap(document, log: &log, into: &out)
            return
        case ("v1", "Secret"):
            decodeObject(document, kind: .secret, apiVersion: apiVersion, log: &log, into: &out)
            return
        case ("metallb.io", _):
            break
        default:
            let name = document["metadata"]?["name"]?.scalarText ?? "?"
            log.warning(ObjectReference(kind: kind, name: name), "", "\(apiVersion.isEmpty ? "no apiVersion" : apiVersion) \(kind) is not a Beacon configuration object; ignored", at: document.position)
            return
        }
        let version = apiVersion.split(separator: "/").dropFirst().first.map(String.init) ?? ""
        let name = document["metadata"]?["name"]?.scalarText ?? "?"
        let ref = ObjectReference(kind: kind, name: name)
        if Self.metallbStatusKinds.contains(kind) { return }
        if kind == "AddressPool" {
            log.error(ref, "kind", "AddressPool was removed in MetalLB 0.14; use an IPAddressPool plus an L2Advertisement or BGPAdvertisement", at: kindNode?.position)
            return
        }
        guard let resourceKind = ResourceKind(rawValue: kind), resourceKind != .secret else {
            log.error(ref, "kind", "unknown metallb.io kind \"\(kind)\" (expected IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, Community or BFDProfile)", at: kindNode?.position)
            return
        }
        let supported = resourceKind == .bgpPeer ? ["v1beta1", "v1beta2"] : ["v1beta1"]
        guard supported.contains(version) else {
            log.error(ref, "apiVersion", "\(apiVersion) is not a served version of \(kind) (use \(supported.map { "metallb.io/" + $0 }.joined(separator: " or ")))", at: document["apiVersion"]?.position)
            return
        }
        decodeObject(document, kind: resourceKind, apiVersion: apiVersion, log: &log, into: &out)
    }

    private func decodeObject(_ document: ConfigNode, kind: ResourceKind, apiVersion: String,
                              log: inout IssueLog, into out: inout [ConfigResource]) {
        let rawName = document["metadata"]?["name"]?.scalarText
        let context = DecodeContext(log: log, object: ObjectReference(kind: kind.rawValue, name: rawName ?? "?"))
        defer { log = context.log }
        let root = FieldReader(document, path: "", context: context)
        let topFields = kind == .secret
            ? ["apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable"]
            : ["apiVersion", "kind", "metadata", "spec", "status"]
        guard let top = root.fields(known: topFields) else { return }
        guard let metaFields = top["metadata"]?.fields(known: Self.metadataFields), let nameField = metaFields["name"],
              let name = nameField.string(), !name.isEmpty
        else {
            context.error("metadata.name", "every object needs a name", at: document.position)
            return
        }
        if let problem = NameValidation.dns1123Subdomain(name) {
            nameField.error("\"\(name)\" \(problem)")
        }
        let namespace = metaFields["namespace"]?.string()
        if let namespace, namespace != options.namespace {
            metaFields["namespace"]?.error("\(kind.rawValue) objects are read only from the \"\(options.namespace)\" namespace, not \"\(namespace)\"")
        }
        var labels: [String: String] = [:]
        if let l = metaFields["labels"]?.stringMap() {
            labels = l
            for key in l.keys.sorted() {
                if let p = NameValidation.labelKey(key) { metaFields["labels"]?.error(p) }
                if let p = NameValidation.labelValue(l[key] ?? "") { metaFields["labels"]?.error(p) }
            }
        }
        let specReader = top["spec"] ?? FieldReader(ConfigNode(.null), path: "spec", context: context)
        var meta = ResourceMeta(kind: kind, apiVersion: apiVersion, name: name, namespace: namespace, labels: labels,
                                position: document.position, document: document, origin: nil)
        meta.annotations = (metaFields["annotations"]?.stringMap() ?? [:]).filter { $0.key.hasPrefix("beacon.io/") }
        let resource: ConfigResource?
        switch kind {
        case .ipAddressPool: resource = Self.ipAddressPool(specReader).map { .ipAddressPool(meta, $0) }
        case .l2Advertisement: resource = Self.l2Advertisement(specReader).map { .l2Advertisement(meta, $0) }
        case .bgpAdvertisement: resource = Self.bgpAdvertisement(specReader).map { .bgpAdvertisement(meta, $0) }
        case .bgpPeer:
            resource = Self.bgpPeer(specReader, v1beta1: apiVersion.hasSuffix("/v1beta1")).map { .bgpPeer(meta, $0) }
        case .community: resource = Self.community(specReader).map { .community(meta, $0) }
        case .bfdProfile: resource = Self.bfdProfile(specReader).map { .bfdProfile(meta, $0) }
        case .secret: resource = Self.secret(top).map { .secret(meta, $0) }
        }
        guard let resource else { return }
        out.append(resource.replacingMeta(meta))
    }

    private func decodeConfigMap(_ document: ConfigNode, log: inout IssueLog, into out: inout [ConfigResource]) {
        let name = document["metadata"]?["name"]?.scalarText ?? "?"
        guard let configNode = document["data"]?["config"] else {
            log.warning(ObjectReference(kind: "ConfigMap", name: name), "", "ConfigMap without data.config is not a MetalLB configuration; ignored", at: document.position)
            return
        }
        let ref = ObjectReference(kind: "ConfigMap", name: name)
        guard case .scalar(let text, _) = configNode.value else {
            log.error(ref, "data.config", "expected the legacy configuration as a string, got \(configNode.kindName)", at: configNode.position)
            return
        }
        let file = configNode.position?.file ?? "ConfigMap/\(name)"
        switch ConfigDocumentReader().documents(ConfigSource(name: "\(file) (ConfigMap/\(name) data.config)", text: text)) {
        case .failure(let issue):
            var i = issue
            i.object = ref
            i.field = "data.config"
            log.issues.append(i)
        case .success(let docs):
            guard let doc = docs.first else {
                log.error(ref, "data.config", "is empty", at: configNode.position)
                return
            }
            LegacyConfigConverter(options: options).convert(doc, origin: "ConfigMap/\(name) data.config", log: &log, into: &out)
        }
    }

    // MARK: - Specs

    static func ipAddressPool(_ r: FieldReader) -> IPAddressPoolSpec? {
        guard let f = r.fields(known: ["addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation"]) else { return nil }
        var spec = IPAddressPoolSpec()
        spec.addresses = f["addresses"]?.strings() ?? []
        spec.autoAssign = f["autoAssign"]?.bool()
        spec.avoidBuggyIPs = f["avoidBuggyIPs"]?.bool()
        if let a = f["serviceAllocation"], !a.isNull,
           let af = a.fields(known: ["priority", "namespaces", "namespaceSelectors", "serviceSelectors"]) {
            var alloc = ServiceAllocationSpec()
            alloc.priority = af["priority"]?.integer(in: Int64(Int32.min)...Int64(Int32.max))
            alloc.namespaces = af["namespaces"]?.strings() ?? []
            alloc.namespaceSelectors = af["namespaceSelectors"]?.labelSelectors() ?? []
            alloc.serviceSelectors = af["serviceSelectors"]?.labelSelectors() ?? []
            spec.serviceAllocation = alloc
        }
        return spec
    }

    static func l2Advertisement(_ r: FieldReader) -> L2AdvertisementSpec? {
        guard let f = r.fields(known: ["ipAddressPools", "ipAddressPoolSelectors", "nodeSelectors", "interfaces",
                                       "serviceSelectors", "preferredNodeSelectors"]) else { return nil }
        var spec = L2AdvertisementSpec()
        spec.ipAddressPools = f["ipAddressPools"]?.strings() ?? []
        spec.ipAddressPoolSelectors = f["ipAddressPoolSelectors"]?.labelSelectors() ?? []
        spec.nodeSelectors = f["nodeSelectors"]?.labelSelectors() ?? []
        spec.interfaces = f["interfaces"]?.strings() ?? []
        spec.serviceSelectors = f["serviceSelectors"]?.labelSelectors() ?? []
        for item in f["preferredNodeSelectors"]?.items() ?? [] {
            guard let pf = item.fields(known: ["weight", "preference"]) else { continue }
            guard let weightField = pf["weight"], let weight = weightField.integer(in: 1...100) else {
                if pf["weight"] == nil { item.error("weight is required (1-100)") }
                continue
            }
            guard let pref = pf["preference"]?.labelSelector() else {
                if pf["preference"] == nil { item.error("preference is required") }
                continue
            }
            spec.preferredNodeSelectors.append(PreferredNodeSelector(weight: Int(weight), preference: pref))
        }
        return spec
    }

    static func bgpAdvertisement(_ r: FieldReader) -> BGPAdvertisementSpec? {
        guard let f = r.fields(known: ["aggregationLength", "aggregationLengthV6", "localPref", "communities", "ipAddressPools",
                                       "ipAddressPoolSelectors", "nodeSelectors", "peers", "serviceSelectors"]) else { return nil }
        var spec = BGPAdvertisementSpec()
        spec.aggregationLength = f["aggregationLength"]?.integer(in: Int64(Int32.min)...Int64(Int32.max))
        spec.aggregationLengthV6 = f["aggregationLengthV6"]?.integer(in: Int64(Int32.min)...Int64(Int32.max))
        spec.localPref = f["localPref"]?.integer(in: 0...Int64(UInt32.max))
        spec.communities = f["communities"]?.strings() ?? []
        spec.ipAddressPools = f["ipAddressPools"]?.strings() ?? []
        spec.ipAddressPoolSelectors = f["ipAddressPoolSelectors"]?.labelSelectors() ?? []
        spec.nodeSelectors = f["nodeSelectors"]?.labelSelectors() ?? []
        spec.peers = f["peers"]?.strings() ?? []
        spec.serviceSelectors = f["serviceSelectors"]?.labelSelectors() ?? []
        return spec
    }

    static let bgpPeerV1beta1Fields = ["myASN", "peerASN", "peerAddress", "sourceAddress", "peerPort", "holdTime",
                                       "keepaliveTime", "routerID", "nodeSelectors", "password", "bfdProfile", "ebgpMultiHop", "vrf"]
    static let bgpPeerV1beta2Fields = bgpPeerV1beta1Fields + ["dynamicASN", "localASN", "interface", "connectTime", "passwordSecret",
                                                              "enableGracefulRestart", "disableMP", "dualStackAddressFamily"]

    static func bgpPeer(_ r: FieldReader, v1beta1: Bool) -> BGPPeerSpec? {
        guard let f = r.fields(known: v1beta1 ? bgpPeerV1beta1Fields : bgpPeerV1beta2Fields) else { return nil }
        var spec = BGPPeerSpec()
        let asnRange: ClosedRange<Int64> = 0...Int64(UInt32.max)
        spec.myASN = f["myASN"]?.integer(in: asnRange)
        spec.peerASN = f["peerASN"]?.integer(in: asnRange)
        spec.localASN = f["localASN"]?.integer(in: asnRange)
        spec.dynamicASN = f["dynamicASN"]?.string()
        spec.peerAddress = f["peerAddress"]?.string()
        spec.interface = f["interface"]?.string()
        spec.sourceAddress = f["sourceAddress"]?.string()
        spec.peerPort = f["peerPort"]?.integer(in: 0...65535)
        spec.holdTime = f["holdTime"]?.duration()
        spec.keepaliveTime = f["keepaliveTime"]?.duration()
        spec.connectTime = f["connectTime"]?.duration()
        spec.routerID = f["routerID"]?.string()
        spec.nodeSelectors = f["nodeSelectors"]?.labelSelectors() ?? []
        spec.password = f["password"]?.string()
        if let s = f["passwordSecret"], !s.isNull, let sf = s.fields(known: ["name", "namespace"]) {
            let ref = SecretReference(name: sf["name"]?.string(), namespace: sf["namespace"]?.string())
            if ref.name != nil || ref.namespace != nil { spec.passwordSecret = ref }
        }
        spec.bfdProfile = f["bfdProfile"]?.string()
        spec.enableGracefulRestart = f["enableGracefulRestart"]?.bool()
        spec.ebgpMultiHop = f["ebgpMultiHop"]?.bool()
        spec.vrf = f["vrf"]?.string()
        spec.disableMP = f["disableMP"]?.bool()
        spec.dualStackAddressFamily = f["dualStackAddressFamily"]?.bool()
        return spec
    }

    static func community(_ r: FieldReader) -> [CommunityAlias]? {
        guard let f = r.fields(known: ["communities"]) else { return nil }
        var out: [CommunityAlias] = []
        for item in f["communities"]?.items() ?? [] {
            guard let cf = item.fields(known: ["name", "value"]) else { continue }
            out.append(CommunityAlias(name: cf["name"]?.string(), value: cf["value"]?.string()))
        }
        return out
    }

    static func bfdProfile(_ r: FieldReader) -> BFDProfileSpec? {
        guard let f = r.fields(known: ["receiveInterval", "transmitInterval", "detectMultiplier", "echoInterval", "echoMode",
                                       "passiveMode", "minimumTtl"]) else { return nil }
        let u32: ClosedRange<Int64> = 0...Int64(UInt32.max)
        var spec = BFDProfileSpec()
        spec.receiveInterval = f["receiveInterval"]?.integer(in: u32)
        spec.transmitInterval = f["transmitInterval"]?.integer(in: u32)
        spec.detectMultiplier = f["detectMultiplier"]?.integer(in: u32)
        spec.echoInterval = f["echoInterval"]?.integer(in: u32)
        spec.echoMode = f["echoMode"]?.bool()
        spec.passiveMode = f["passiveMode"]?.bool()
        spec.minimumTtl = f["minimumTtl"]?.integer(in: u32)
        return spec
    }

    static func secret(_ top: [String: FieldReader]) -> SecretSpec? {
        var spec = SecretSpec()
        spec.type = top["type"]?.string()
        if let data = top["data"]?.stringMap() {
            for (k, v) in data {
                guard let decoded = Base64.decode(v) else {
                    top["data"]?.error("data[\(k)] is not valid base64")
                    continue
                }
                spec.data[k] = String(decoding: decoded, as: UTF8.self)
            }
        }
        for (k, v) in top["stringData"]?.stringMap() ?? [:] { spec.data[k] = v }
        return spec
    }
}

extension ConfigResource {
    func replacingMeta(_ m: ResourceMeta) -> ConfigResource {
        switch self {
        case .ipAddressPool(_, let s): return .ipAddressPool(m, s)
        case .l2Advertisement(_, let s): return .l2Advertisement(m, s)
        case .bgpAdvertisement(_, let s): return .bgpAdvertisement(m, s)
        case .bgpPeer(_, let s): return .bgpPeer(m, s)
        case .community(_, let s): return .community(m, s)
        case .bfdProfile(_, let s): return .bfdProfile(m, s)
        case .secret(_, let s): return .secret(m, s)
        }
    }
}

/// RFC 4648 base64 (standard alphabet, padding optional), as Secret `data` values use.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0, padding = 0
        for b in text.utf8 {
            let v: UInt32
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(b - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(b - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(b - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="): padding += 1; continue
            case 0x0A, 0x0D, 0x20: continue
            default: return nil
            }
            if padding > 0 { return nil }
            buffer = buffer << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return padding <= 2 ? out : nil
    }
}

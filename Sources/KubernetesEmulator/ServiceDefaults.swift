import KubernetesModel

/// The API server's Service defaulting, as far as clients can observe it: type, session affinity, IP families
/// and policy, cluster IPs from a service CIDR (IPv4 10.96.0.0/12, IPv6 fd00:10:96::/112), port protocol and
/// target port, node ports (30000–32767) for NodePort and LoadBalancer Services, traffic policies, and
/// `ipMode: VIP` on status ingress entries that have an ip. Cluster IPs and node ports are immutable.
struct ServiceDefaults: Sendable {
    private var nextIPv4: UInt32 = 10  // offset in 10.96.0.0/12 (.0.1 is the API server's, .0.10 DNS's by convention)
    private var nextIPv6: UInt32 = 10
    private var nextNodePort = 30000
    private var usedNodePorts = Set<Int>()

    mutating func apply(to object: JSONValue, existing: JSONValue?) throws(Status) -> JSONValue {
        var service = object
        var spec = service["spec"]?.objectValue ?? [:]
        let old = existing?["spec"]?.objectValue
        let type = spec["type"]?.stringValue ?? "ClusterIP"
        spec["type"] = .string(type)
        if spec["sessionAffinity"] == nil { spec["sessionAffinity"] = .string("None") }
        if spec["internalTrafficPolicy"] == nil { spec["internalTrafficPolicy"] = .string("Cluster") }

        // Cluster IPs are assigned once and never change.
        if let old, let ips = old["clusterIPs"] {
            if let asked = spec["clusterIPs"], asked != ips {
                throw Status(message: "Service \"\(service["metadata"]?["name"]?.stringValue ?? "")\" is invalid: spec.clusterIPs[0]: Invalid value: \(asked): may not change once set",
                             reason: "Invalid", code: 422)
            }
            spec["clusterIPs"] = ips
            spec["clusterIP"] = old["clusterIP"]
            spec["ipFamilies"] = old["ipFamilies"]
            spec["ipFamilyPolicy"] = old["ipFamilyPolicy"]
        } else if spec["clusterIP"]?.stringValue == "None" {
            spec["clusterIPs"] = .array([.string("None")])
            if spec["ipFamilyPolicy"] == nil { spec["ipFamilyPolicy"] = .string("SingleStack") }
            if spec["ipFamilies"] == nil { spec["ipFamilies"] = .array([.string("IPv4")]) }
        } else {
            let policy = spec["ipFamilyPolicy"]?.stringValue ?? "SingleStack"
            var families: [String] = []
            if case .array(let fs)? = spec["ipFamilies"] { families = fs.compactMap(\.stringValue) }
            if families.isEmpty { families = ["IPv4"] }
            if policy != "SingleStack" && families.count == 1 { families.append(families[0] == "IPv4" ? "IPv6" : "IPv4") }
            if policy == "SingleStack" { families = [families[0]] }
            var ips: [JSONValue] = []
            for f in families {
                if f == "IPv4" {
                    let v = UInt32(0x0A60_0000) + nextIPv4
                    nextIPv4 += 1
                    ips.append(.string("\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"))
                } else {
                    ips.append(.string("fd00:10:96::" + String(nextIPv6, radix: 16)))
                    nextIPv6 += 1
                }
            }
            spec["ipFamilyPolicy"] = .string(policy)
            spec["ipFamilies"] = .array(families.map(JSONValue.string))
            spec["clusterIPs"] = .array(ips)
            spec["clusterIP"] = ips.first
        }

        let exposesNodePorts = type == "NodePort" || (type == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] != .bool(false))
        if type == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] == nil { spec["allocateLoadBalancerNodePorts"] = .bool(true) }
        if type == "NodePort" || type == "LoadBalancer" {
            if spec["externalTrafficPolicy"] == nil { spec["externalTrafficPolicy"] = .string("Cluster") }
        }
        if case .array(let ports)? = spec["ports"] {
            var out: [JSONValue] = []
            let oldPorts: [JSONValue] = { if case .array(let p)? = old?["ports"] { return p }; return [] }()
            for var port in ports {
                if port["protocol"] == nil { port["protocol"] = .string("TCP") }
                if port["targetPort"] == nil { port["targetPort"] = port["port"] }
                if exposesNodePorts && port["nodePort"] == nil {
                    // Keep the node port a port already had.
                    let same = oldPorts.first { $0["port"] == port["port"] && $0["protocol"] == port["protocol"] }
                    port["nodePort"] = same?["nodePort"] ?? .int(Int64(allocateNodePort()))
                }
                if case .int(let n)? = port["nodePort"] { usedNodePorts.insert(Int(n)) }
                out.append(port)
            }
            spec["ports"] = .array(out)
        }
        if type == "LoadBalancer", spec["externalTrafficPolicy"]?.stringValue == "Local", spec["healthCheckNodePort"] == nil {
            spec["healthCheckNodePort"] = old?["healthCheckNodePort"] ?? .int(Int64(allocateNodePort()))
        }
        service["spec"] = .object(spec)
        return service
    }

    /// Marks a restored Service's cluster IPs and node ports as taken.
    mutating func reserve(_ service: JSONValue) {
        if case .array(let ips)? = service["spec"]?["clusterIPs"] {
            for ip in ips.compactMap(\.stringValue) {
                if ip.hasPrefix("fd00:10:96::"), let n = UInt32(ip.dropFirst("fd00:10:96::".count), radix: 16) {
                    nextIPv6 = max(nextIPv6, n + 1)
                } else {
                    let parts = ip.split(separator: ".").compactMap { UInt32($0) }
                    if parts.count == 4, parts[0] == 10 {
                        let v = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]
                        if v >= 0x0A60_0000 { nextIPv4 = max(nextIPv4, v - 0x0A60_0000 + 1) }
                    }
                }
            }
        }
        if case .array(let ports)? = service["spec"]?["ports"] {
            for case .int(let n)? in ports.map({ $0["nodePort"] }) { usedNodePorts.insert(Int(n)) }
        }
        if case .int(let n)? = service["spec"]?["healthCheckNodePort"] { usedNodePorts.insert(Int(n)) }
    }

    private mutating func allocateNodePort() -> Int {
        for _ in 30000...32767 {
            let p = nextNodePort
            nextNodePort = nextNodePort == 32767 ? 30000 : nextNodePort + 1
            if usedNodePorts.insert(p).inserted { return p }
        }
        return 0
    }

    /// The API server sets `ipMode: VIP` on ingress entries that have an ip and no ipMode.
    static func defaultIngressMode(_ service: JSONValue) -> JSONValue {
        guard case .array(let ingress)? = service["status"]?["loadBalancer"]?["ingress"] else { return service }
        var s = service
        s["status"]?["loadBalancer"]?["ingress"] = .array(ingress.map { entry in
            var e = entry
            if e["ip"] != nil && e["ipMode"] == nil { e["ipMode"] = .string("VIP") }
            return e
        })
        return s
    }
}

/// The OpenAPI `default`s of MetalLB's CRDs, which the API server fills in on every write.
enum CustomResourceDefaults {
    static func apply(_ type: ResourceType, _ object: JSONValue) -> JSONValue {
        guard type.group == "metallb.io", type.kind == "IPAddressPool", case .object = object["spec"] ?? .null else { return object }
        var o = object
        if o["spec"]?["autoAssign"] == nil { o["spec"]?["autoAssign"] = true }
        if o["spec"]?["avoidBuggyIPs"] == nil { o["spec"]?["avoidBuggyIPs"] = false }
        return o
    }
}

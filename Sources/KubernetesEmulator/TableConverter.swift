import Foundation
import KubernetesModel

/// Server-side printing: `kubectl get` asks for `as=Table` and prints the columns the server chooses. These are
/// the real API server's columns for the built-in kinds and MetalLB's `additionalPrinterColumns` for its CRDs.
enum TableConverter {
    struct Column {
        var name: String
        var type: String = "string"
        var priority: Int = 0
        var cell: (JSONValue, Date) -> JSONValue
    }

    static func table(_ type: ResourceType, _ items: [JSONValue], resourceVersion: Int64, now: Date, noHeaders: Bool = false,
                      continueToken: String? = nil) -> JSONValue {
        let cols = columns(type)
        let rows: [JSONValue] = items.map { item in
            var partial: [String: JSONValue] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"]
            partial["metadata"] = item["metadata"] ?? .object([:])
            return .object(["cells": .array(cols.map { $0.cell(item, now) }), "object": .object(partial)])
        }
        var meta: [String: JSONValue] = ["resourceVersion": .string(String(resourceVersion))]
        if let continueToken { meta["continue"] = .string(continueToken) }
        var table: [String: JSONValue] = ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(meta), "rows": .array(rows)]
        if !noHeaders {
            table["columnDefinitions"] = .array(cols.map { c in
                .object(["name": .string(c.name), "type": .string(c.type), "format": c.name == "Name" ? "name" : "",
                         "description": .string(c.name), "priority": .int(Int64(c.priority))])
            })
        }
        return .object(table)
    }

    static func columns(_ type: ResourceType) -> [Column] {
        let name = Column(name: "Name") { o, _ in o["metadata"]?["name"] ?? "" }
        let age = Column(name: "Age") { o, now in .string(ageOf(o, now: now)) }
        func path(_ title: String, _ keys: String..., priority: Int = 0) -> Column {
            Column(name: title, priority: priority) { o, _ in
                var v: JSONValue? = o
                for k in keys { v = v?[k] }
                guard let v else { return "" }
                if case .string = v { return v }
                return .string(JSONText.string(v))
            }
        }
        switch (type.group, type.kind) {
        case ("", "Service"):
            return [name, Column(name: "Type") { o, _ in o["spec"]?["type"] ?? "ClusterIP" },
                    Column(name: "Cluster-IP") { o, _ in o["spec"]?["clusterIP"] ?? "<none>" },
                    Column(name: "External-IP") { o, _ in .string(externalIPs(o)) },
                    Column(name: "Port(s)") { o, _ in .string(ports(o)) }, age,
                    Column(name: "Selector", priority: 1) { o, _ in .string(labels(o["spec"]?["selector"])) }]
        case ("", "Node"):
            return [name, Column(name: "Status") { o, _ in .string(nodeStatus(o)) },
                    Column(name: "Roles") { o, _ in .string(roles(o)) }, age,
                    path("Version", "status", "nodeInfo", "kubeletVersion"),
                    Column(name: "Internal-IP", priority: 1) { o, _ in .string(nodeAddress(o, "InternalIP")) },
                    Column(name: "External-IP", priority: 1) { o, _ in .string(nodeAddress(o, "ExternalIP")) }]
        case ("", "Namespace"):
            return [name, Column(name: "Status") { o, _ in o["status"]?["phase"] ?? "Active" }, age]
        case ("", "Secret"):
            return [name, Column(name: "Type") { o, _ in o["type"] ?? "Opaque" },
                    Column(name: "Data") { o, _ in .int(Int64(o["data"]?.objectValue?.count ?? 0)) }, age]
        case ("", "ConfigMap"):
            return [name, Column(name: "Data") { o, _ in .int(Int64((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))) }, age]
        case ("", "Pod"):
            return [name, Column(name: "Status") { o, _ in o["status"]?["phase"] ?? "Pending" }, age,
                    Column(name: "IP", priority: 1) { o, _ in o["status"]?["podIP"] ?? "<none>" },
                    Column(name: "Node", priority: 1) { o, _ in o["spec"]?["nodeName"] ?? "<none>" }]
        case ("discovery.k8s.io", _):
            return [name, Column(name: "AddressType") { o, _ in o["addressType"] ?? "" },
                    Column(name: "Ports") { o, _ in .string(slicePorts(o)) },
                    Column(name: "Endpoints") { o, _ in .string(sliceEndpoints(o)) }, age]
        case ("coordination.k8s.io", _):
            return [name, Column(name: "Holder") { o, _ in o["spec"]?["holderIdentity"] ?? "" }, age]
        case ("events.k8s.io", _), ("", "Event"):
            return [Column(name: "Last Seen") { o, now in .string(eventAge(o, now: now)) },
                    Column(name: "Type") { o, _ in o["type"] ?? "" }, Column(name: "Reason") { o, _ in o["reason"] ?? "" },
                    Column(name: "Object") { o, _ in .string(eventObject(o)) },
                    Column(name: "Message") { o, _ in o["note"] ?? o["message"] ?? "" }]
        case ("metallb.io", "IPAddressPool"):
            return [name, path("Auto Assign", "spec", "autoAssign"), path("Avoid Buggy IPs", "spec", "avoidBuggyIPs"),
                    path("Addresses", "spec", "addresses"), age]
        case ("metallb.io", "L2Advertisement"):
            return [name, path("IPAddressPools", "spec", "ipAddressPools"), path("IPAddressPool Selectors", "spec", "ipAddressPoolSelectors"),
                    path("Interfaces", "spec", "interfaces"), path("Node Selectors", "spec", "nodeSelectors", priority: 10), age]
        case ("metallb.io", "BGPAdvertisement"):
            return [name, path("IPAddressPools", "spec", "ipAddressPools"), path("IPAddressPool Selectors", "spec", "ipAddressPoolSelectors"),
                    path("Peers", "spec", "peers"), path("Node Selectors", "spec", "nodeSelectors", priority: 10), age]
        case ("metallb.io", "BGPPeer"):
            return [name, path("Address", "spec", "peerAddress"), path("ASN", "spec", "peerASN"),
                    path("BFD Profile", "spec", "bfdProfile"), path("Multi Hops", "spec", "ebgpMultiHop"), age]
        case ("metallb.io", "BFDProfile"):
            return [name, path("Passive Mode", "spec", "passiveMode"), path("Transmit Interval", "spec", "transmitInterval"),
                    path("Receive Interval", "spec", "receiveInterval"), path("Multiplier", "spec", "detectMultiplier"), age]
        case ("metallb.io", "ServiceL2Status"):
            return [name, path("Allocated Node", "status", "node"), path("Service Name", "status", "serviceName"),
                    path("Service Namespace", "status", "serviceNamespace"), age]
        case ("metallb.io", "ServiceBGPStatus"):
            return [name, path("Node", "status", "node"), path("Service Name", "status", "serviceName"),
                    path("Service Namespace", "status", "serviceNamespace"), age]
        case ("frrk8s.metallb.io", "BGPSessionState"):
            return [name, path("Node", "status", "node"), path("Peer", "status", "peer"), path("VRF", "status", "vrf"),
                    path("BGP", "status", "bgpStatus"), path("BFD", "status", "bfdStatus"), age]
        case ("metallb.io", "ConfigurationState"):
            return [name, path("Result", "status", "result"), path("Last Error", "status", "errorSummary"), age]
        default:
            return [name, age]
        }
    }

    static func externalIPs(_ o: JSONValue) -> String {
        let type = o["spec"]?["type"]?.stringValue ?? "ClusterIP"
        var ips: [String] = []
        if case .array(let e)? = o["spec"]?["externalIPs"] { ips += e.compactMap(\.stringValue) }
        if type == "LoadBalancer" {
            if case .array(let ingress)? = o["status"]?["loadBalancer"]?["ingress"] {
                ips += ingress.compactMap { $0["ip"]?.stringValue ?? $0["hostname"]?.stringValue }
            }
            if ips.isEmpty { return "<pending>" }
        }
        if type == "ExternalName" { return o["spec"]?["externalName"]?.stringValue ?? "<none>" }
        return ips.isEmpty ? "<none>" : ips.joined(separator: ",")
    }

    static func ports(_ o: JSONValue) -> String {
        guard case .array(let ports)? = o["spec"]?["ports"], !ports.isEmpty else { return "<none>" }
        return ports.map { p in
            let port = p["port"].map { JSONText.string($0) } ?? ""
            let proto = p["protocol"]?.stringValue ?? "TCP"
            if let np = p["nodePort"], np != .null { return "\(port):\(JSONText.string(np))/\(proto)" }
            return "\(port)/\(proto)"
        }.joined(separator: ",")
    }

    static func labels(_ v: JSONValue?) -> String {
        guard let o = v?.objectValue, !o.isEmpty else { return "<none>" }
        return o.keys.sorted().map { "\($0)=\(o[$0]?.stringValue ?? "")" }.joined(separator: ",")
    }

    static func nodeStatus(_ o: JSONValue) -> String {
        var s = "Unknown"
        if case .array(let conds)? = o["status"]?["conditions"],
           let ready = conds.first(where: { $0["type"]?.stringValue == "Ready" }) {
            s = ready["status"]?.stringValue == "True" ? "Ready" : (ready["status"]?.stringValue == "False" ? "NotReady" : "Unknown")
        }
        if o["spec"]?["unschedulable"] == .bool(true) { s += ",SchedulingDisabled" }
        return s
    }

    static func roles(_ o: JSONValue) -> String {
        let rs = (o["metadata"]?["labels"]?.objectValue ?? [:]).keys
            .filter { $0.hasPrefix("node-role.kubernetes.io/") }
            .map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
        return rs.isEmpty ? "<none>" : rs.joined(separator: ",")
    }

    static func nodeAddress(_ o: JSONValue, _ kind: String) -> String {
        guard case .array(let addrs)? = o["status"]?["addresses"] else { return "<none>" }
        let a = addrs.filter { $0["type"]?.stringValue == kind }.compactMap { $0["address"]?.stringValue }
        return a.isEmpty ? "<none>" : a.joined(separator: ",")
    }

    static func slicePorts(_ o: JSONValue) -> String {
        guard case .array(let ports)? = o["ports"], !ports.isEmpty else { return "<unset>" }
        return ports.compactMap { $0["port"].map { JSONText.string($0) } }.joined(separator: ",")
    }

    static func sliceEndpoints(_ o: JSONValue) -> String {
        guard case .array(let eps)? = o["endpoints"] else { return "<unset>" }
        let addrs = eps.flatMap { e -> [String] in
            if case .array(let a)? = e["addresses"] { return a.compactMap(\.stringValue) }
            return []
        }
        if addrs.isEmpty { return "<unset>" }
        if addrs.count > 3 { return addrs.prefix(3).joined(separator: ",") + " + \(addrs.count - 3) more..." }
        return addrs.joined(separator: ",")
    }

    static func eventObject(_ o: JSONValue) -> String {
        let ref = o["regarding"] ?? o["involvedObject"]
        return "\(ref?["kind"]?.stringValue?.lowercased() ?? "")/\(ref?["name"]?.stringValue ?? "")"
    }

    static func eventAge(_ o: JSONValue, now: Date) -> String {
        let stamp = o["series"]?["lastObservedTime"]?.stringValue ?? o["lastTimestamp"]?.stringValue ?? o["eventTime"]?.stringValue
            ?? o["deprecatedLastTimestamp"]?.stringValue ?? o["metadata"]?["creationTimestamp"]?.stringValue
        guard let stamp, let date = parseTime(stamp) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(date))
    }

    static func ageOf(_ o: JSONValue, now: Date) -> String {
        guard let s = o["metadata"]?["creationTimestamp"]?.stringValue, let date = parseTime(s) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(date))
    }

    static func parseTime(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)
    }

    /// kubectl's `duration.HumanDuration`.
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 60 * 3 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 { let d = hours / 24 % 365; return d == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(d)d" }
        return "\(hours / 24 / 365)y"
    }
}

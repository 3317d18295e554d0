import AnnouncementPolicy
import ArgumentParser
import Foundation
import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives

/// `speaker plan`: the announcement planner on files, no daemon or cluster needed.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show who would announce each Service's addresses, and why, from a configuration and a cluster snapshot.",
        discussion: """
            --config takes the metallb.io objects (as for `speaker validate`). --cluster takes YAML or JSON with the \
            Services (with status.loadBalancer.ingress), EndpointSlices and Nodes, as `kubectl get svc,endpointslices,nodes \
            -A -o yaml` prints them. For every Service, it prints the layer 2 candidates ranked as MetalLB ranks them, with \
            the reason each one is in or out, the owner, and what --node does; and the BGP decision for --node. \
            --members lists the speakers that are alive (default: every Node).
            """
    )

    @Option(name: .customLong("config"), help: "Configuration file (repeatable).") var configFiles: [String] = []
    @Option(name: .customLong("cluster"), help: "Cluster snapshot file (repeatable).") var clusterFiles: [String] = []
    @Option(help: "The node to plan for.") var node: String
    @Option(help: "Comma-separated live speakers (default: every Node).") var members: String?
    @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text
    @Argument(help: "Only this Service (NAMESPACE/NAME).") var service: String?

    func run() throws {
        guard !configFiles.isEmpty, !clusterFiles.isEmpty else { throw ValidationError("give --config and --cluster files") }
        let configuration: Configuration
        do {
            configuration = try ConfigurationLoader().load(try configFiles.map(ConfigFileReading.read)).configuration
        } catch {
            FileHandle.standardError.write(Data("speaker plan: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var services: [Service] = [], slices: [EndpointSlice] = [], nodes: [Node] = []
        do {
            for file in clusterFiles {
                let text = try ConfigFileReading.read(file).text
                for object in try ClusterYAML.objects(text) {
                    switch object["kind"]?.stringValue {
                    case "Service": services.append(try JSONValueDecoder().decode(Service.self, from: object))
                    case "EndpointSlice": slices.append(try JSONValueDecoder().decode(EndpointSlice.self, from: object))
                    case "Node": nodes.append(try JSONValueDecoder().decode(Node.self, from: object))
                    default: continue
                    }
                }
            }
        } catch {
            FileHandle.standardError.write(Data("speaker plan: cannot read the cluster snapshot: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var snapshot = ClusterSnapshot(configuration: configuration, services: services, endpointSlices: slices, nodes: nodes)
        if let members { snapshot.liveMembers = Set(members.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }) }
        let plan = AnnouncementPolicy.plan(snapshot, node: node)
        let all: [ServicePlan] = plan.services.values.sorted { (a: ServicePlan, b: ServicePlan) in a.service < b.service }
        let chosen: [ServicePlan] = all.filter { (p: ServicePlan) in service == nil || p.service.description == service }
        if let service, chosen.isEmpty {
            FileHandle.standardError.write(Data("speaker plan: no Service \(service) of type LoadBalancer with an address\n".utf8))
            throw ExitCode(1)
        }
        switch output {
        case .text: print(Self.text(chosen, node: node))
        case .json:
            let data = try JSONSerialization.data(withJSONObject: chosen.map(Self.json), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func text(_ plans: [ServicePlan], node: String) -> String {
        var lines: [String] = []
        for p in plans {
            lines.append("\(p.service) \(p.addresses.map(\.description).joined(separator: ", ")) (pool \(p.pool ?? "?"))")
            if let problem = p.problem { lines.append("  problem: \(problem)") }
            lines.append("  endpoints: \(p.servingEndpoints) serving" + (p.endpointNodes.isEmpty ? "" : " on \(p.endpointNodes.joined(separator: ", "))"))
            for l2 in p.layer2 {
                lines.append("  layer 2 (\(l2.advertisements.joined(separator: ", "))): owner \(l2.owner ?? "none"); on \(node): \(l2.decision)")
                var rank = 0
                for c in l2.candidates {
                    let hash = c.hash.prefix(4).map { String(format: "%02x", $0) }.joined()
                    if let why = c.excluded {
                        lines.append("     -  \(c.node)  out: \(why)")
                    } else {
                        rank += 1
                        lines.append("    \(rank).  \(c.node)  weight \(c.weight)  sha256 \(hash)…")
                    }
                }
                if l2.decision.announces { lines.append("    interfaces: \(l2.interfaces.isEmpty ? "every eligible interface" : l2.interfaces.joined(separator: ", "))") }
            }
            if let bgp = p.bgp { lines.append("  bgp on \(node): \(bgp)") }
            if p.layer2.isEmpty && p.bgp == nil { lines.append("  no L2Advertisement or BGPAdvertisement covers pool \(p.pool ?? "?")") }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ p: ServicePlan) -> [String: Any] {
        var o: [String: Any] = ["service": p.service.description, "addresses": p.addresses.map(\.description), "pool": p.pool ?? NSNull(),
                                "servingEndpoints": p.servingEndpoints, "endpointNodes": p.endpointNodes]
        if let problem = p.problem { o["problem"] = problem }
        o["layer2"] = p.layer2.map { l2 -> [String: Any] in
            ["advertisements": l2.advertisements, "owner": l2.owner ?? NSNull(), "decision": l2.decision.description,
             "announces": l2.decision.announces, "interfaces": l2.interfaces,
             "candidates": l2.candidates.map { c -> [String: Any] in
                 ["node": c.node, "weight": c.weight, "sha256": c.hash.map { String(format: "%02x", $0) }.joined(),
                  "excluded": c.excluded.map { "\($0)" } ?? NSNull()]
             }]
        }
        if let bgp = p.bgp {
            var b: [String: Any] = ["decision": bgp.description]
            if case .announce(let routes) = bgp {
                b["routes"] = routes.map { r -> [String: Any] in
                    ["prefix": r.prefix.description, "peers": r.peers, "advertisement": r.advertisement,
                     "communities": (r.attributes.communities.map(\.description) + r.attributes.largeCommunities.map(\.description)).sorted(),
                     "localPref": r.attributes.localPreference.map { Int($0) as Any } ?? NSNull()]
                }
            }
            o["bgp"] = b
        }
        return o
    }
}

import AnnouncementPolicy
import ArgumentParser
import Foundation
import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives
import SpeakerRuntime

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
            configuration = try ConfigurationLoader().load(try configFiles.map { try ConfigFileReading.read($0) }).configuration
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
        let explanations = chosen.map(ServiceExplanation.init)
        switch output {
        case .text: print(explanations.flatMap { $0.text(node: node) }.joined(separator: "\n"))
        case .json: try printJSON(explanations)
        }
    }
}

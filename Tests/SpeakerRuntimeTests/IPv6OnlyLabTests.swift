import BeaconLab
import Foundation
import TestSupport
import Testing

/// An IPv6-only cluster with the speakers' default flags: nodes have only IPv6 addresses and InternalIPs, the API
/// server is reached over IPv6, membership runs on its default socket (::) between IPv6 node addresses. The ranked
/// node answers NDP, and when it dies the next in rank does.
@Suite("speaker run in an IPv6-only lab", .tags(.privileged, .timing), .serialized, .dedicatedThreads)
struct IPv6OnlyLabTests {
    static func ndpAnswer(_ lab: Lab, _ ip: String) async throws -> [String] {
        let text = try await Shell.inNamespace(lab.clientNS, ["ndisc6", "-r", "2", "-w", "300", ip, "eth0"], check: false).output
        return text.split(separator: "\n").filter { $0.contains("Target link-layer address") }
            .compactMap { $0.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    @Test("NDP from the ranked owner, failover to the next, membership over IPv6 with default flags")
    func ipv6Only() async throws {
        try await LabFixture.withLab(configure: { $0.ipv6Only = true }) { lab in
            try await SpeakerLabTests.start(lab)
            try await lab.kubectl(["apply", "-f", "-"], input: """
                apiVersion: v1
                kind: Service
                metadata: {name: web6, namespace: default, annotations: {metallb.io/address-pool: lan}}
                spec:
                  type: LoadBalancer
                  ipFamilyPolicy: SingleStack
                  ipFamilies: [IPv6]
                  selector: {app: web6}
                  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
                """)
            try await lab.setEndpoints(service: "web6", nodes: lab.nodeIndices)
            var v6 = ""
            _ = try await LabFixture.eventually(30) { v6 = try await lab.serviceAddresses("web6").first ?? ""; return !v6.isEmpty }
            #expect(v6.contains(":"), "an IPv6 address: \(v6)")
            let names = lab.nodeIndices.map(lab.nodeName)
            let ownerName = try #require(LabFixture.expectedOwner(v6, among: names))
            let owner = try #require(lab.nodeIndices.first { lab.nodeName($0) == ownerName })
            let ownerMAC = try await lab.nodeMAC(owner)
            var answers: [String] = []
            #expect(try await LabFixture.eventually(20) { answers = try await Self.ndpAnswer(lab, v6); return answers == [ownerMAC] },
                    "the ranked owner \(ownerName) answers NDP for \(v6): \(answers)")
            // Membership runs between the IPv6 node addresses.
            let members = try await lab.speakerCLI(owner, ["members"]).output
            #expect(members.contains("2001:db8::") && !members.contains("dead"), "\(members)")

            let nextName = try #require(LabFixture.expectedOwner(v6, among: names.filter { $0 != ownerName }))
            let next = try #require(lab.nodeIndices.first { lab.nodeName($0) == nextName })
            let nextMAC = try await lab.nodeMAC(next)
            try await lab.killNode(owner)
            #expect(try await LabFixture.eventually(10) { answers = try await Self.ndpAnswer(lab, v6); return answers == [nextMAC] },
                    "after \(ownerName) died, \(nextName) answers NDP for \(v6): \(answers)")
        }
    }
}

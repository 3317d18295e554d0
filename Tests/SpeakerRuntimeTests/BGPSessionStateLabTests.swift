import BeaconLab
import Foundation
import TestSupport
import Testing

/// A BGP session that cannot come up is visible to the cluster: the router (BIRD) has no TCP MD5 key for the nodes,
/// the BGPPeer has a password, so the router's kernel drops every signed SYN and the session never establishes.
/// Within 30 s each node says so with a Warning event on the BGPPeer and in its BGPSessionState, with the MD5 hint.
@Suite("BGP session trouble visible to the cluster (namespace lab)", .tags(.privileged, .timing), .serialized, .dedicatedThreads)
struct BGPSessionStateLabTests {
    @Test("a wrong MD5 password: a Warning event and the session state within 30 s")
    func md5() async throws {
        try await LabFixture.withLab { lab in
            try await lab.startExample()
            try await lab.kubectl(["patch", "bgppeers.metallb.io", "router", "-n", "metallb-system", "--type=merge", "-p",
                                   #"{"spec":{"password":"not-the-routers"}}"#])
            let start = ContinuousClock.now
            var events = ""
            let warned = try await LabFixture.eventually(40) {
                events = try await lab.kubectl(["get", "events.events.k8s.io", "-n", "metallb-system", "-o",
                                                "jsonpath={range .items[*]}{.reason}|{.regarding.kind}/{.regarding.name}|{.type}|{.note}{\"\\n\"}{end}"]).output
                return events.split(separator: "\n").contains { $0.hasPrefix("BGPSessionNotEstablished|BGPPeer/router|Warning|") && $0.contains("MD5") }
            }
            let took = ContinuousClock.now - start
            #expect(warned, "\(events)")
            #expect(took < .seconds(30), "the Warning came after \(took)")
            let states = try await lab.kubectl(["get", "bgpsessionstates", "-n", "metallb-system", "-o",
                                                "jsonpath={range .items[*]}{.status.node}|{.status.bgpStatus}|{.status.lastError}{\"\\n\"}{end}"]).output
            let lines = states.split(separator: "\n")
            #expect(lines.count == lab.nodeIndices.count, "\(states)")
            #expect(lines.allSatisfy { !$0.contains("|Established|") && $0.contains("MD5") }, "\(states)")
        }
    }
}

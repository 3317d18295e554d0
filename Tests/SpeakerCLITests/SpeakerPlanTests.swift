import Foundation
import TestSupport
import Testing

@Suite("speaker plan", .dedicatedThreads)
struct SpeakerPlanTests {
    /// The planner on files, as an operator runs it: layer 2 ranking with reasons, the owner, this node's decision,
    /// interfaces, and the BGP decision (ETP Local without a local endpoint on one node, advertised on the other).
    /// The SHA-256 prefixes in the golden file were checked against Python's hashlib.
    @Test("text output for the owner node (golden)")
    func text() throws {
        let r = try SpeakerProcess.run(["plan", "--config", "plan/config.yaml", "--cluster", "plan/cluster.yaml", "--node", "node-b"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try SpeakerProcess.golden("plan-node-b.txt")))
    }

    /// With node-b's speaker dead, node-a owns the address; JSON for one Service (golden).
    @Test("JSON output with a dead member (golden)")
    func json() throws {
        let r = try SpeakerProcess.run(["plan", "--config", "plan/config.yaml", "--cluster", "plan/cluster.yaml", "--node", "node-a",
                                        "--members", "node-a,node-c", "-o", "json", "default/web"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try SpeakerProcess.golden("plan-node-a-members.json")))
    }

    @Test("unknown Service exits 1; unreadable input exits 2")
    func errors() throws {
        #expect(try SpeakerProcess.run(["plan", "--config", "plan/config.yaml", "--cluster", "plan/cluster.yaml", "--node", "node-a", "default/nope"]).status == 1)
        #expect(try SpeakerProcess.run(["plan", "--config", "plan/config.yaml", "--cluster", "missing.yaml", "--node", "node-a"]).status == 2)
        #expect(try SpeakerProcess.run(["plan", "--config", "plan/config.yaml", "--node", "node-a"]).status == 2)
    }
}

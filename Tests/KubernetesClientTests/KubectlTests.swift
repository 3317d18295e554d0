import Foundation
import TestSupport
import Testing

@Suite("kubectl against kube-emulator", .dedicatedThreads)
struct KubectlTests {
    /// The kube-emulator executable SwiftPM built next to the test bundle.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var emulator: URL { root.appendingPathComponent(".build/debug/kube-emulator") }

    /// Real kubectl 1.32 runs create/apply/get (table, wide, json, yaml, watch)/describe/label/annotate/patch
    /// (strategic, merge, json, status)/delete on built-in kinds and metallb.io CRs; the script checks each output.
    @Test("every kubectl verb Beacon's users need works against the emulator")
    func kubectlVerbs() throws {
        // Run from the source tree: the script sources Tests/Support/emulator-checks.sh.
        let script = Self.root.appendingPathComponent("Tests/KubernetesClientTests/Fixtures/kubectl-verbs.sh")
        let (status, text) = try runProcess("/bin/bash", [script.path, Self.emulator.path])
        let failures = text.split(separator: "\n").filter { !$0.hasPrefix("ok: ") }
        #expect(status == 0, "\(failures.joined(separator: "\n"))")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("ok: ") }.count >= 50)
    }
}

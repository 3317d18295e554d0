import Foundation
import Testing
@testable import KubernetesClient

/// Timestamps are formatted by hand; they must match RFC 3339 as Foundation writes it.
@Suite("KubeTime")
struct KubeTimeTests {
    @Test("seconds and microseconds match RFC 3339", arguments: [0.0, 951_782_400.5, 1_796_132_364.074115, 4_102_444_799.999999])
    func format(_ epoch: Double) {
        let d = Date(timeIntervalSince1970: epoch)
        #expect(KubeTime.seconds(d) == ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: floor(epoch))))
        let micro = KubeTime.micro(d)
        #expect(micro.hasPrefix(String(KubeTime.seconds(d).dropLast()) + "."))
        #expect(micro.count == 27 && micro.hasSuffix("Z"), "\(micro)")
    }
}

import Synchronization

/// A token bucket (client-go's default limiter shape): `qps` tokens a second, up to `burst` at once. Each call
/// reserves a slot under the lock and sleeps outside it, so waiters are served in arrival order.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let qps: Double
    private let burst: Double
    private let bucket: Mutex<Bucket>

    init(qps: Double, burst: Int) {
        self.qps = qps
        self.burst = Double(max(burst, 1))
        bucket = Mutex(Bucket(tokens: Double(max(burst, 1)), last: .now))
    }

    func acquire() async throws {
        guard qps > 0 else { return }
        let wait: Double = bucket.withLock { b in
            let now = ContinuousClock.now
            let elapsed = now - b.last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            b.tokens = min(burst, b.tokens + seconds * qps)
            b.last = now
            b.tokens -= 1
            return b.tokens >= 0 ? 0 : -b.tokens / qps
        }
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    }
}

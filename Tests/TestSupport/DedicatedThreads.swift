import Foundation
import Testing

/// Runs each job of the tasks that prefer it on a thread of its own, outside Swift's cooperative pool (one thread per
/// core). Tests that wait synchronously (a `Process`, a poll with `usleep`) then cannot starve the async tests that
/// run beside them in parallel.
public final class ThreadPerJobExecutor: TaskExecutor {
    public static let shared = ThreadPerJobExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// `.dedicatedThreads`: the suite's (or test's) code runs on `ThreadPerJobExecutor`, for suites that wait
/// synchronously, and for suites that keep time (heartbeats every 50 ms) and must not wait for a busy pool.
public struct DedicatedThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == DedicatedThreadsTrait {
    /// Runs the suite or test off Swift's cooperative pool.
    public static var dedicatedThreads: Self { DedicatedThreadsTrait() }
}

extension Tag {
    /// Suites whose assertions keep time at the scale of membership heartbeats (50 ms, dead after 150 ms): `make test`
    /// runs them one at a time after the others, on a machine not loaded by the parallel run.
    @Tag public static var timing: Self
}

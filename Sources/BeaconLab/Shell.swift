import Foundation
import Synchronization

/// Runs the lab's commands (`ip`, `nft`, `kubectl`, `birdc`, ...) without blocking a thread of the cooperative
/// pool: the caller suspends until the process exits. Output is collected as it arrives, so a chatty command
/// never fills its pipe.
public enum Shell {
    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var error: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var command: [String]
        public var result: Result
        public var description: String {
            "`\(command.joined(separator: " "))` exited \(result.status): \(result.error.isEmpty ? result.output : result.error)"
        }
    }

    /// Runs `argv` (looked up in PATH) and returns its output; throws when it fails and `check` is set.
    @discardableResult
    public static func run(_ argv: [String], input: String? = nil, check: Bool = true) async throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = input.map { _ in Pipe() }
        p.standardInput = inPipe ?? FileHandle.nullDevice
        let collected = Collected()
        let outReader = PipeReader(out.fileHandleForReading) { collected.append($0, error: false) }
        let errReader = PipeReader(err.fileHandleForReading) { collected.append($0, error: true) }
        let status: Int32 = try await withCheckedThrowingContinuation { c in
            p.terminationHandler = { p in c.resume(returning: p.terminationStatus) }
            do { try p.run() } catch {
                p.terminationHandler = nil
                c.resume(throwing: error)
                return
            }
            if let inPipe, let input {
                inPipe.fileHandleForWriting.write(Data(input.utf8))
                try? inPipe.fileHandleForWriting.close()
            }
        }
        await outReader.finish()
        await errReader.finish()
        let result = Result(status: status, output: collected.output, error: collected.error)
        if check && status != 0 { throw Failure(command: argv, result: result) }
        return result
    }

    /// Runs a command in a network namespace.
    @discardableResult
    public static func inNamespace(_ ns: String, _ argv: [String], input: String? = nil, check: Bool = true) async throws -> Result {
        try await run(["ip", "netns", "exec", ns] + argv, input: input, check: check)
    }
}

final class Collected: Sendable {
    private let state = Mutex<(Data, Data)>((Data(), Data()))
    func append(_ d: Data, error: Bool) {
        guard !d.isEmpty else { return }
        state.withLock { s in if error { s.1.append(d) } else { s.0.append(d) } }
    }
    var output: String { state.withLock { String(decoding: $0.0, as: UTF8.self) } }
    var error: String { state.withLock { String(decoding: $0.1, as: UTF8.self) } }
}

/// A long-running process the lab started (a daemon in a namespace), with its output in a log file. Only this
/// handle's PID is ever signalled.
public final class LabProcess: Sendable {
    public let name: String
    public let logPath: String
    private let process: Mutex<Process?>
    public let pid: Int32

    /// Starts `argv` in namespace `ns` (`ip netns exec` execs, so the PID is the daemon's).
    public init(name: String, namespace ns: String?, _ argv: [String], logPath: String, environment: [String: String] = [:]) throws {
        self.name = name
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = (ns.map { ["ip", "netns", "exec", $0] } ?? []) + argv
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? log.close()
        pid = p.processIdentifier
        process = Mutex(p)
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits (without blocking a thread) up to `seconds` for the exit; SIGKILL after that.
    /// Returns how long the process took to exit.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 5) async -> Duration {
        let start = ContinuousClock.now
        guard isRunning else { return .zero }
        kill(pid, signal)
        let deadline = start + .milliseconds(Int(seconds * 1000))
        while isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        let took = ContinuousClock.now - start
        if isRunning {
            kill(pid, SIGKILL)
            while isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        }
        return took
    }

    /// SIGKILL at once (a crash), without waiting.
    public func crash() { if isRunning { kill(pid, SIGKILL) } }

    /// Waits until `needle` shows up in the log.
    public func waitForLog(_ needle: String, seconds: Double = 30) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if log.contains(needle) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return log.contains(needle)
    }
}

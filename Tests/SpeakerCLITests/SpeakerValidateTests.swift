import Foundation
import TestSupport
import Testing

/// Runs the real `speaker` binary.
struct SpeakerProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        let next = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("speaker")
        if FileManager.default.isExecutableFile(atPath: next.path) { return next }
        // swift test's helper process lives elsewhere; fall back to the package's build folder.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/speaker")
    }

    static var fixtures: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil) ?? URL(fileURLWithPath: ".")
    }

    static func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = fixtures
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func golden(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent("golden/" + name), encoding: .utf8)
    }
}

@Suite("speaker validate", .dedicatedThreads)
struct SpeakerValidateTests {
    /// A valid configuration: exit 0 and a summary with exact pool sizes (golden output).
    @Test("summarises a valid configuration")
    func valid() throws {
        let r = try SpeakerProcess.run(["validate", "valid.yaml"])
        #expect(r.status == 0)
        #expect(r.stdout == (try SpeakerProcess.golden("valid.txt")))
    }

    /// An invalid configuration: exit 1 and every error on its own line (golden output).
    @Test("lists every error of an invalid configuration")
    func invalid() throws {
        let r = try SpeakerProcess.run(["validate", "invalid.yaml"])
        #expect(r.status == 1)
        #expect(r.stdout == (try SpeakerProcess.golden("invalid.txt")))
    }

    @Test("prints the same report as JSON")
    func json() throws {
        let r = try SpeakerProcess.run(["validate", "-o", "json", "valid.yaml"])
        #expect(r.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == true)
        let pools = try #require(object["pools"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: pools.map { ($0["name"] as? String ?? "", $0) })
        #expect(byName["default"]?["ipv6"] as? String == "18446744073709551616")
        #expect(byName["bgp"]?["ipv4"] as? String == "254")
        let bad = try SpeakerProcess.run(["validate", "--output", "json", "invalid.yaml"])
        #expect(bad.status == 1)
        let badObject = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
        #expect(badObject["valid"] as? Bool == false)
        let errors = try #require(badObject["errors"] as? [[String: Any]])
        #expect(errors.map { $0["object"] as? String } == ["IPAddressPool/edge", "BGPPeer/tor"])
        #expect(errors.first?["field"] as? String == "spec.addresses[1]")
    }

    @Test("reads standard input for '-'")
    func stdin() throws {
        let yaml = try String(contentsOf: SpeakerProcess.fixtures.appendingPathComponent("valid.yaml"), encoding: .utf8)
        let r = try SpeakerProcess.run(["validate", "-"], stdin: yaml)
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("configuration is valid: 2 pools"))
        let bad = try SpeakerProcess.run(["validate", "-"], stdin: "kind: [")
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("<stdin>:"))
    }

    /// Nothing to check is an error, not "valid": an empty input, comments only, or objects that are not configuration.
    @Test("an input with no configuration objects exits 1", arguments: [
        "",
        "# nothing here\n---\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\ntype: kubernetes.io/basic-auth\nstringData: {password: x}\n",
    ])
    func noObjects(_ yaml: String) throws {
        let r = try SpeakerProcess.run(["validate", "-"], stdin: yaml)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("no configuration objects in <stdin>"), "\(r.stdout)")
        let json = try SpeakerProcess.run(["validate", "-o", "json", "-"], stdin: yaml)
        #expect(json.status == 1)
        #expect(json.stdout.contains("no configuration objects"))
    }

    /// The size limit is checked before the input is read whole: a device that never ends is refused at once.
    @Test("an input beyond the size limit is refused before it is read whole")
    func tooLarge() throws {
        let r = try SpeakerProcess.run(["validate", "/dev/zero"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("more than the 8388608-byte limit for configuration"), "\(r.stderr)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("beacon-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = dir.appendingPathComponent("big.yaml")
        #expect(FileManager.default.createFile(atPath: big.path, contents: nil))
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: 9 << 20)
        try handle.close()
        let sized = try SpeakerProcess.run(["validate", big.path])
        #expect(sized.status == 2)
        #expect(sized.stderr.contains("it is 9437184 bytes, more than the 8388608-byte limit"), "\(sized.stderr)")
    }

    @Test("validates several files together")
    func severalFiles() throws {
        let r = try SpeakerProcess.run(["validate", "valid.yaml", "invalid.yaml"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("duplicate BGPPeer \"tor\""))
    }

    @Test("exits 2 for unreadable files and bad usage", arguments: [
        (["validate", "missing.yaml"], "cannot read \"missing.yaml\": no such file"),
        (["validate", "golden"], "cannot read \"golden\": it is a directory"),
        (["validate"], "Missing expected argument"),
        (["validate", "-o", "xml", "valid.yaml"], "xml"),
        (["validate", "--bgp-implementation", "quagga", "valid.yaml"], "--bgp-implementation must be one of beacon, metallb-native, metallb-frr"),
        (["frobnicate"], "frobnicate"),
    ])
    func usage(_ arguments: [String], _ message: String) throws {
        let r = try SpeakerProcess.run(arguments)
        #expect(r.status == 2)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test("checks against MetalLB's native BGP when asked")
    func nativeMode() throws {
        let r = try SpeakerProcess.run(["validate", "--bgp-implementation", "metallb-native", "valid.yaml"])
        #expect(r.status == 0)
        let yaml = "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, keepaliveTime: 3s}\n"
        let bad = try SpeakerProcess.run(["validate", "--bgp-implementation", "metallb-native", "-"], stdin: yaml)
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("keepaliveTime is not supported by MetalLB's native BGP mode"))
    }

    @Test("--version prints the release and exits 0")
    func version() throws {
        let r = try SpeakerProcess.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout == "0.1.0\n", "\(r.stdout)")
    }

    @Test("help exits 0")
    func help() throws {
        let r = try SpeakerProcess.run(["validate", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE: speaker validate"))
    }
}

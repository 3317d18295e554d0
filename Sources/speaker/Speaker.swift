import BeaconVersion
import ArgumentParser
import Foundation
import LoadBalancerConfig

/// The entry point. The command runs as a task on the concurrency pool while the main thread waits for it. (An
/// `async` main would end the main thread in `dispatch_main`, whose `pthread_exit` unwinds it: glibc loads libgcc_s
/// for that, and the unwinder reads the binary's unwind tables. That is about 0.7 MB of a speaker's idle RSS spent on
/// a thread that then does nothing; Docs/benchmarks.md, "Speaker idle". Nothing in the speaker runs on the main actor.)
@main
enum SpeakerMain {
    static func main() {
        let done = DispatchSemaphore(value: 0)
        // Invariant: this is the process's root task, the one the runtime makes for an async main; every other task
        // is its structured descendant (task groups, Service.run), and the main thread outlives it.
        Task.detached {
            await Speaker.main()
            done.signal()
        }
        done.wait()
    }
}

/// `speaker`: the DaemonSet process on every node, and the tool to debug it.
struct Speaker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speaker",
        abstract: "Beacon's speaker: announces LoadBalancer IPs over ARP/NDP and BGP, and explains what it does.",
        version: BeaconVersion.string,
        subcommands: [RunCommand.self, StatusCommand.self, ExplainCommand.self, PeersCommand.self, RoutesCommand.self, MembersCommand.self,
                      PlanCommand.self, Validate.self, Interfaces.self, Decode.self, Announce.self, WhoHas.self, BGPProbe.self]
    )

    /// Exit codes: 0 success, 1 the checked thing is bad (invalid config), 2 unreadable input or bad usage.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success || (1...3).contains(code.rawValue) {
                exit(withError: error)
            }
            // ArgumentParser's usage errors (EX_USAGE, 64) become 2, as documented.
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(2)
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration (metallb.io CRs, MetalLB's legacy ConfigMap, or both) without a cluster.",
        discussion: """
            Reads every FILE (YAML or JSON, several documents each; '-' is standard input) and validates them \
            together, as the controller and speakers would. Prints a summary with exact pool sizes when the \
            configuration is valid (exit 0), or every error, one per line (exit 1). Unreadable files or bad \
            usage exit 2.
            """
    )

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    @Option(help: "The namespace configuration objects must be in.")
    var namespace: String = "metallb-system"

    @Option(help: "Which BGP implementation the configuration must suit: beacon, metallb-native or metallb-frr.")
    var bgpImplementation: String = "beacon"

    @Argument(help: "Configuration files; '-' reads standard input.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE (or '-' for standard input)") }
        if ValidationOptions.BGPImplementation(rawValue: bgpImplementation) == nil {
            throw ValidationError("--bgp-implementation must be one of \(ValidationOptions.BGPImplementation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        var sources: [ConfigSource] = []
        for file in files {
            do {
                sources.append(try ConfigFileReading.read(file))
            } catch {
                FileHandle.standardError.write(Data("speaker validate: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        let options = ValidationOptions(namespace: namespace,
                                        bgpImplementation: ValidationOptions.BGPImplementation(rawValue: bgpImplementation) ?? .beacon)
        let summary: ConfigurationSummary
        do {
            let loaded = try ConfigurationLoader(options: options).load(sources)
            if loaded.resources.allSatisfy({ $0.meta.kind == .secret }) {
                // Nothing to check is not "valid": an empty file, or a wrong one, would otherwise pass a CI gate.
                let names = sources.map(\.name).joined(separator: ", ")
                summary = ConfigurationSummary(ConfigurationError(errors: [ConfigIssue(
                    .error, object: nil, field: "",
                    "no configuration objects in \(names): expected metallb.io objects (IPAddressPool, L2Advertisement, BGPPeer, ...) or MetalLB's config ConfigMap")]))
            } else {
                summary = ConfigurationSummary(loaded)
            }
        } catch {
            summary = ConfigurationSummary(error)
        }
        switch output {
        case .text: print(summary.text)
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(summary)) ?? Data("{}".utf8)
            print(String(decoding: data, as: UTF8.self))
        }
        if !summary.valid { throw ExitCode(1) }
    }
}

/// Reads configuration files for the CLI, with errors that name the file.
enum ConfigFileReading {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads at most the configuration size limit: a larger input is refused before it is read whole (a device,
    /// a pipe or a huge file would otherwise be read into memory).
    static func read(_ path: String, limit: Int = ConfigDocumentReader().maximumBytes) throws -> ConfigSource {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readData(ofLength: limit + 1)
            if data.count > limit { throw ReadError(description: "cannot read standard input: more than the \(limit)-byte limit for configuration") }
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ReadError(description: "cannot read \"\(path)\": no such file")
            }
            if isDirectory.boolValue { throw ReadError(description: "cannot read \"\(path)\": it is a directory") }
            if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
                throw ReadError(description: "cannot read \"\(path)\": it is \(size) bytes, more than the \(limit)-byte limit for configuration")
            }
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ReadError(description: "cannot read \"\(path)\": permission denied or unreadable")
            }
            defer { try? handle.close() }
            // Not trusting the size: a file can grow, and /dev/zero has none.
            data = handle.readData(ofLength: limit + 1)
            if data.count > limit { throw ReadError(description: "cannot read \"\(path)\": more than the \(limit)-byte limit for configuration") }
        }
        return ConfigSource(name: path == "-" ? "<stdin>" : path, bytes: data)
    }
}

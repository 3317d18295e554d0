import FuzzSupport
import LoadBalancerConfig

/// Feeds arbitrary bytes through the whole YAML -> Configuration path. Any outcome but a crash, a hang or a
/// sanitizer report is fine: invalid input must come back as issues.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    let source = ConfigSource(name: "fuzz", bytes: bytes)
    for implementation in [ValidationOptions.BGPImplementation.beacon, .metallbNative] {
        let loader = ConfigurationLoader(options: ValidationOptions(bgpImplementation: implementation))
        do {
            let loaded = try loader.load([source])
            _ = ConfigurationSummary(loaded).text
        } catch {
            _ = ConfigurationSummary(error).text
        }
    }
}

#if FUZZING
/// SwiftPM links executables with `main` aliased to `<module>_main`; this is the program's entry under libFuzzer.
@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzzing.runDriver(argc, argv) { data, size in
        fuzzOne(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
/// Without libFuzzer: replays files or directories of inputs (the kept corpus).
@main
struct FuzzReplay {
    static func main() { Fuzzing.replay(CommandLine.arguments.dropFirst(), fuzzOne) }
}
#endif

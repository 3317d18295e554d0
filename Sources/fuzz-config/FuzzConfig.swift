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
import CFuzzerSupport

/// SwiftPM links executables with `main` aliased to `<module>_main`, so libFuzzer's own `main` is never used:
/// this is the program's entry, handing control to libFuzzer's driver.
@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var args = argv
    return LLVMFuzzerRunDriver(&count, &args) { data, size in
        fuzzOne(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
import Foundation

/// Without libFuzzer: replays files or directories of inputs (the kept corpus), so a normal build can run them.
@main
struct FuzzReplay {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { raw in fuzzOne(raw.bindMemory(to: UInt8.self)) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif

#if FUZZING
import CFuzzerSupport
#endif
import Foundation

/// The glue every fuzz target shares. Each target keeps only what SwiftPM forces on it: a `<module>_main`
/// symbol under `-DFUZZING` (SwiftPM links executables with `main` aliased to it) and a `@main` replayer otherwise.
public enum Fuzzing {
    /// The signature libFuzzer calls for each input.
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    #if FUZZING
    /// Hands control to libFuzzer's driver (compiler-rt's `LLVMFuzzerRunDriver`, linked only with -sanitize=fuzzer).
    public static func runDriver(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ test: TestOneInput) -> CInt {
        var count = argc
        var args = argv
        return LLVMFuzzerRunDriver(&count, &args, test)
    }
    #endif

    /// Without libFuzzer: feeds every file named (or inside every directory named) to `body`.
    public static func replay(_ paths: some Sequence<String>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var count = 0
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { body($0.bindMemory(to: UInt8.self)) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An interface-name pattern: a POSIX extended regular expression (libc's `regcomp`), searched for anywhere in the
/// name as Go's `MatchString` does for MetalLB's exclude list. `\d` (in brackets too) and `\D` mean digits and
/// non-digits, as in Go; `\w`, `\s` and `\b` are glibc's. Swift's `Regex` did the same job but brought its parser and
/// matcher (code the toolchain does not split into functions) into every running speaker.
public final class InterfacePattern: @unchecked Sendable, CustomStringConvertible {
    public let description: String
    /// Compiled once; `regexec` on one pattern is safe from several threads (glibc locks its matcher state).
    private let compiled: UnsafeMutablePointer<regex_t>

    public struct SyntaxError: Error, CustomStringConvertible {
        public var pattern: String
        public var reason: String
        public var description: String { "\"\(pattern)\" is not a regular expression: \(reason)" }
    }

    public init(_ pattern: String) throws(SyntaxError) {
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let code = regcomp(compiled, Self.translated(pattern), REG_EXTENDED | REG_NOSUB)
        guard code == 0 else {
            var text = [CChar](repeating: 0, count: 256)
            regerror(code, compiled, &text, text.count)
            compiled.deallocate()
            throw SyntaxError(pattern: pattern, reason: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.compiled = compiled
        description = pattern
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    /// Whether the pattern occurs anywhere in `name`.
    public func matches(_ name: String) -> Bool { regexec(compiled, name, 0, nil, 0) == 0 }

    /// Go's `\d` and `\D` as bracket expressions, and `\d` inside brackets as `0-9`; everything else as written.
    /// (A `]` first in a bracket list, after an optional `^`, is a member, and so is the `]` that closes a class such
    /// as `[:digit:]`.)
    static func translated(_ pattern: String) -> String {
        let c = Array(pattern)
        var out = ""
        var i = 0
        while i < c.count {
            switch c[i] {
            case "\\" where i + 1 < c.count:
                switch c[i + 1] {
                case "d": out += "[0-9]"
                case "D": out += "[^0-9]"
                default: out.append(c[i]); out.append(c[i + 1])
                }
                i += 2
            case "[":
                out.append("[")
                i += 1
                if i < c.count, c[i] == "^" { out.append("^"); i += 1 }
                if i < c.count, c[i] == "]" { out.append("]"); i += 1 }
                while i < c.count, c[i] != "]" {
                    if c[i] == "[", i + 1 < c.count, let kind = [":", ".", "="].first(where: { $0 == c[i + 1] }) {
                        // A class such as [:digit:], copied whole.
                        var j = i + 2
                        while j + 1 < c.count, !(c[j] == kind && c[j + 1] == "]") { j += 1 }
                        let end = min(j + 2, c.count)
                        out += String(c[i..<end])
                        i = end
                    } else if c[i] == "\\", i + 1 < c.count, c[i + 1] == "d" {
                        out += "0-9"
                        i += 2
                    } else {
                        out.append(c[i])
                        i += 1
                    }
                }
                if i < c.count { out.append("]"); i += 1 }
            default:
                out.append(c[i])
                i += 1
            }
        }
        return out
    }
}

import Netlink
import Testing

@Suite("interface patterns")
struct InterfacePatternTests {
    /// (pattern, name, matches): MetalLB's defaults, unanchored search as Go's MatchString, Go's `\d`, POSIX classes.
    static let cases: [(String, String, Bool)] = [
        ("^docker.*", "docker0", true), ("^docker.*", "eth-docker", false), ("^veth.*", "veth1a2b", true),
        ("^lo$", "lo", true), ("^lo$", "lo0", false), ("^lo$", "eth0", false), ("^cali.*", "cali12ab", true),
        ("^kube-ipvs.*", "kube-ipvs0", true), ("^nodelocaldns.*", "nodelocaldns", true), ("^lxc.*", "lxcbr0", true),
        ("eth", "myeth0", true), ("eth", "ens3", false), ("^eth\\d+$", "eth12", true), ("^eth\\d+$", "ethx", false),
        ("^eth\\D", "ethx", true), ("^eth\\D", "eth1", false), ("^en[[:digit:]]", "en0", true), ("^en[[:digit:]]", "enp", false),
        ("^br[\\d]", "br0", true), ("^br[\\dx]", "brx", true), ("^br[\\d]", "brd", false), ("^[]a]x", "]x", true), ("^(ens|eno)[0-9]+$", "eno1", true),
        ("^(ens|eno)[0-9]+$", "enp3s0", false), ("^tap.{2}$", "tap01", true), ("^tap.{2}$", "tap1", false),
    ]

    @Test("matches as Go's MatchString would", arguments: 0..<cases.count)
    func matches(_ i: Int) throws {
        let (pattern, name, expected) = Self.cases[i]
        #expect(try InterfacePattern(pattern).matches(name) == expected, "\(pattern) on \(name)")
    }

    @Test("every default pattern compiles")
    func defaults() throws {
        for p in InterfaceEligibility.defaultExcludes { _ = try InterfacePattern(p) }
    }

    @Test("a malformed pattern is refused with the pattern and libc's reason")
    func malformed() {
        for p in ["([", "eth(", "a{2", "[z-a]"] {
            #expect(throws: InterfacePattern.SyntaxError.self) { try InterfacePattern(p) }
            do { _ = try InterfacePattern(p) } catch { #expect(error.description.hasPrefix("\"\(p)\" is not a regular expression: ")) }
        }
    }

    @Test("the eligibility rules skip an interface whose name an exclude pattern matches, unless it is listed")
    func eligibility() {
        let up: UInt32 = 0x1 | 0x2
        let interfaces = [NetworkInterface(index: 2, name: "eth0", mac: nil, mtu: 1500, flags: up, operState: "up", masterIndex: nil, kind: nil, addresses: []),
                          NetworkInterface(index: 3, name: "veth9", mac: nil, mtu: 1500, flags: up, operState: "up", masterIndex: nil, kind: "veth", addresses: [])]
        let decided = InterfaceEligibility.evaluate(interfaces)
        #expect(decided.map(\.decision) == [.eligible(inSubnet: false), .excluded(pattern: "^veth.*")])
        #expect(InterfaceEligibility.evaluate(interfaces, listed: ["veth9"]).map(\.decision) == [.eligible(inSubnet: false), .notListed])
        #expect(InterfaceEligibility.evaluate(interfaces, excludes: ["\\d$"]).allSatisfy { $0.decision == .excluded(pattern: "\\d$") })
    }
}

import Testing
@testable import NetworkPrimitives

@Suite("IPv4 addresses")
struct IPv4AddressTests {
    /// Valid dotted quads parse to the right value and print back unchanged.
    @Test("parses and prints dotted quads", arguments: [
        ("0.0.0.0", UInt32(0)), ("255.255.255.255", UInt32.max), ("192.0.2.1", 0xC000_0201),
        ("10.0.0.0", 0x0A00_0000), ("1.2.3.4", 0x0102_0304), ("198.51.100.255", 0xC633_64FF),
        ("203.0.113.0", 0xCB00_7100), ("127.0.0.1", 0x7F00_0001),
    ])
    func valid(_ text: String, _ value: UInt32) throws {
        let a = try IPv4Address(text)
        #expect(a.value == value)
        #expect(a.description == text)
    }

    /// Every malformed form is rejected with the reason that explains it.
    @Test("rejects malformed text with a reason", arguments: [
        ("", NetworkParseError.Reason.empty),
        ("1.2.3", .wrongOctetCount(3)),
        ("1.2.3.4.5", .wrongOctetCount(5)),
        ("1..2.3", .wrongOctetCount(4)),
        ("1.2.3.", .wrongOctetCount(4)),
        (".1.2.3", .wrongOctetCount(4)),
        ("256.1.1.1", .octetOutOfRange("256")),
        ("1.2.3.1000", .octetOutOfRange("1000")),
        ("01.2.3.4", .leadingZero("01")),
        ("1.2.3.00", .leadingZero("00")),
        ("1.2.3.4 ", .surroundingWhitespace),
        (" 1.2.3.4", .surroundingWhitespace),
        ("1.2. 3.4", .invalidCharacter(" ")),
        ("1.2.3.a", .invalidCharacter("a")),
        ("+1.2.3.4", .invalidCharacter("+")),
        ("-1.2.3.4", .invalidCharacter("-")),
        ("1.2.3.4/24", .invalidCharacter("/")),
        ("1.2.3.4%eth0", .zoneNotAllowed),
        ("１.2.3.4", .invalidCharacter("１")),
        ("0x7f.0.0.1", .invalidCharacter("x")),
        ("99999999999999999999.1.1.1", .octetOutOfRange("99999999999999999999")),
    ])
    func invalid(_ text: String, _ reason: NetworkParseError.Reason) {
        #expect(throws: NetworkParseError(.ipv4Address, text, reason)) { try IPv4Address(text) }
    }

    /// .0 and .255 are what avoidBuggyIPs skips.
    @Test("flags .0 and .255 as buggy", arguments: [("10.0.0.0", true), ("10.0.0.255", true), ("10.0.0.1", false), ("10.0.255.1", false)])
    func buggy(_ text: String, _ buggy: Bool) throws {
        #expect(try IPv4Address(text).isBuggyNetworkOrBroadcast == buggy)
    }
}

@Suite("IPv6 addresses")
struct IPv6AddressTests {
    /// RFC 4291 input forms come out in RFC 5952 canonical form.
    @Test("canonicalizes every RFC 4291 form to RFC 5952", arguments: [
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),          // first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),       // a single zero group is not compressed
        ("2001:db8::1:0:0:0:1", "2001:db8:0:1::1"),             // longest run wins
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("fe80::1:2:3:4", "fe80::1:2:3:4"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),                 // "::" standing for one group
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),               // IPv4-mapped keeps the dotted tail
        ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),           // other embeddings print in hex
        ("::192.0.2.1", "::c000:201"),
        ("2001:db8:1:2:3:4:192.0.2.1", "2001:db8:1:2:3:4:c000:201"),
        ("0000:0000::0001", "::1"),
        ("fc00:f853:0ccd:e799::", "fc00:f853:ccd:e799::"),
    ])
    func canonical(_ input: String, _ canonical: String) throws {
        let a = try IPv6Address(input)
        #expect(a.description == canonical)
        #expect(try IPv6Address(canonical) == a)
    }

    /// Malformed IPv6 text is rejected with the reason.
    @Test("rejects malformed text with a reason", arguments: [
        ("", NetworkParseError.Reason.empty),
        (":::", .misplacedColon),
        ("1:::2", .misplacedColon),
        ("1::2::3", .multipleDoubleColons),
        (":1::2", .misplacedColon),
        ("1::2:", .misplacedColon),
        (":1:2:3:4:5:6:7:8", .misplacedColon),
        ("1:2:3:4:5:6:7:8:", .misplacedColon),
        ("1:2:3:4:5:6:7", .wrongGroupCount(7)),
        ("1:2:3:4:5:6:7:8:9", .wrongGroupCount(9)),
        ("1:2:3:4:5:6:7:8::", .wrongGroupCount(9)),
        ("::1:2:3:4:5:6:7:8", .wrongGroupCount(9)),
        ("12345::1", .groupTooLong("12345")),
        ("2001:db8::g", .invalidCharacter("g")),
        ("fe80::1%eth0", .zoneNotAllowed),
        (" ::1", .surroundingWhitespace),
        ("::1 ", .surroundingWhitespace),
        ("1.2.3.4::", .misplacedIPv4),
        ("::1.2.3.4:1", .misplacedIPv4),
        ("::ffff:1.2.3", .inner(NetworkParseError(.ipv4Address, "1.2.3", .wrongOctetCount(3)))),
        ("::ffff:256.0.0.1", .inner(NetworkParseError(.ipv4Address, "256.0.0.1", .octetOutOfRange("256")))),
        ("1:2:3:4:5:6:7:1.2.3.4", .wrongGroupCount(9)),
        ("[::1]", .invalidCharacter("[")),
        ("::1/128", .invalidCharacter("/")),
    ])
    func invalid(_ text: String, _ reason: NetworkParseError.Reason) {
        #expect(throws: NetworkParseError(.ipv6Address, text, reason)) { try IPv6Address(text) }
    }

    /// IPv4-mapped addresses expose the IPv4 address they carry.
    @Test("handles IPv4-mapped addresses")
    func mapped() throws {
        let a = try IPv6Address("::ffff:10.1.2.3")
        #expect(a.isIPv4Mapped)
        #expect(a.ipv4Mapped == IPv4Address(10, 1, 2, 3))
        #expect(IPv6Address(ipv4Mapped: IPv4Address(10, 1, 2, 3)) == a)
        #expect(try IPAddress("::ffff:10.1.2.3").unmapped == .v4(IPv4Address(10, 1, 2, 3)))
        #expect(try IPAddress("2001:db8::1").unmapped == .v6(try IPv6Address("2001:db8::1")))
        #expect(try !IPv6Address("::1").isIPv4Mapped)
    }

    @Test("recognises link-local addresses")
    func linkLocal() throws {
        #expect(try IPv6Address("fe80::1").isLinkLocal)
        #expect(try IPv6Address("febf::1").isLinkLocal)
        #expect(try !IPv6Address("fec0::1").isLinkLocal)
        #expect(try !IPv6Address("2001:db8::1").isLinkLocal)
    }
}

@Suite("IP addresses of either family")
struct IPAddressTests {
    @Test("dispatches on the family and orders IPv4 before IPv6")
    func families() throws {
        let v4 = try IPAddress("192.0.2.1"), v6 = try IPAddress("::1")
        #expect(v4.family == .ipv4)
        #expect(v6.family == .ipv6)
        #expect(v4 < v6)
        #expect(try IPAddress("192.0.2.1") < IPAddress("192.0.2.2"))
        #expect(try IPAddress("2001:db8::1") < IPAddress("2001:db8::2"))
        #expect(IPAddress(family: .ipv4, bits: v4.bits) == v4)
    }

    @Test("reports errors as IP address errors", arguments: ["", "1.2.3", "::g", "foo", "1.2.3.4:80"])
    func invalid(_ text: String) {
        #expect(throws: NetworkParseError.self) { try IPAddress(text) }
        do { _ = try IPAddress(text) } catch { #expect(error.subject == .ipAddress) }
    }

    @Test("an address is 24 bytes in a table, ordered and hashed by its 128-bit value")
    func layout() throws {
        #expect(MemoryLayout<IPv6Address>.alignment == 8 && MemoryLayout<IPv6Address>.size == 16)
        #expect(MemoryLayout<IPAddress>.stride == 24)
        let values: [UInt128] = [0, 1, UInt128(UInt64.max), UInt128(UInt64.max) + 1, UInt128(1) << 127, .max, 0x2001_0db8 << 96 | 0xffff_0000_0001]
        for a in values {
            #expect(IPv6Address(a).value == a)
            var b = IPv6Address(0)
            b.value = a
            #expect(b == IPv6Address(a) && b.hashValue == IPv6Address(a).hashValue)
            for c in values { #expect((IPv6Address(a) < IPv6Address(c)) == (a < c), "\(a) < \(c)") }
        }
        #expect(try IPv6Address("2001:db8::ffff:0:1").value == 0x2001_0db8 << 96 | 0xffff_0000_0001)
    }
}

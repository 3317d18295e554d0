import Testing
@testable import NetworkPrimitives

@Suite("CIDR prefixes")
struct IPPrefixTests {
    @Test("parses prefixes with their first, last and exact size", arguments: [
        ("192.0.2.0/24", "192.0.2.0", "192.0.2.255", "256"),
        ("0.0.0.0/0", "0.0.0.0", "255.255.255.255", "4294967296"),
        ("10.0.0.1/32", "10.0.0.1", "10.0.0.1", "1"),
        ("10.0.0.0/31", "10.0.0.0", "10.0.0.1", "2"),
        ("2001:db8::/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "18446744073709551616"),
        ("2001:db8::/48", "2001:db8::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff", "1208925819614629174706176"),
        ("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "340282366920938463463374607431768211456"),
        ("2001:db8::1/128", "2001:db8::1", "2001:db8::1", "1"),
        ("fc00:f853:ccd:e799::/124", "fc00:f853:ccd:e799::", "fc00:f853:ccd:e799::f", "16"),
    ])
    func valid(_ text: String, _ first: String, _ last: String, _ count: String) throws {
        let p = try IPPrefix(text)
        #expect(p.description == text)
        #expect(p.first == (try IPAddress(first)))
        #expect(p.last == (try IPAddress(last)))
        #expect(p.count.description == count)
    }

    @Test("rejects malformed prefixes with a reason", arguments: [
        ("", NetworkParseError.Reason.empty),
        ("192.0.2.0", .missingPrefixLength),
        ("192.0.2.0/", .invalidPrefixLength("")),
        ("192.0.2.0/33", .prefixLengthTooLong(33, max: 32)),
        ("2001:db8::/129", .prefixLengthTooLong(129, max: 128)),
        ("192.0.2.0/-1", .invalidPrefixLength("-1")),
        ("192.0.2.0/024", .invalidPrefixLength("024")),
        ("192.0.2.0/ 24", .invalidPrefixLength(" 24")),
        ("192.0.2.0/24/1", .invalidPrefixLength("24/1")),
        ("192.0.2.0/a", .invalidPrefixLength("a")),
        ("192.0.2.1/24", .hostBitsSet(canonical: "192.0.2.0/24")),
        ("2001:db8::1/64", .hostBitsSet(canonical: "2001:db8::/64")),
        ("192.0.2/24", .inner(NetworkParseError(.ipAddress, "192.0.2", .wrongOctetCount(3)))),
        ("/24", .inner(NetworkParseError(.ipAddress, "", .empty))),
        ("192.0.2.0/99999999999999999999999", .invalidPrefixLength("99999999999999999999999")),
    ])
    func invalid(_ text: String, _ reason: NetworkParseError.Reason) {
        #expect(throws: NetworkParseError(.prefix, text, reason)) { try IPPrefix(text) }
    }

    /// Go's net.ParseCIDR (and MetalLB) mask host bits; Beacon does so only when asked, and says it did.
    @Test("masks host bits explicitly when asked")
    func masking() throws {
        let (p, hostBits) = try IPPrefix.parseMasking("10.0.0.77/24")
        #expect(p.description == "10.0.0.0/24")
        #expect(hostBits)
        let (q, none) = try IPPrefix.parseMasking("10.0.0.0/24")
        #expect(q == p && !none)
        #expect(IPPrefix(masking: try IPAddress("2001:db8::ffff"), length: 112).description == "2001:db8::/112")
    }

    @Test("answers containment and overlap")
    func containment() throws {
        let p = try IPPrefix("10.0.0.0/24")
        #expect(p.contains(try IPAddress("10.0.0.255")))
        #expect(!p.contains(try IPAddress("10.0.1.0")))
        #expect(!p.contains(try IPAddress("::ffff:10.0.0.1")))
        #expect(p.contains(try IPPrefix("10.0.0.128/25")))
        #expect(!(try IPPrefix("10.0.0.128/25")).contains(p))
        #expect(p.overlaps(try IPPrefix("10.0.0.128/25")))
        #expect(!p.overlaps(try IPPrefix("10.0.1.0/24")))
        #expect(IPPrefix.netmask(24, family: .ipv4) == 0xFFFF_FF00)
        #expect(IPPrefix.netmask(0, family: .ipv6) == 0)
        #expect(IPPrefix.netmask(128, family: .ipv6) == .max)
    }
}

@Suite("IP ranges")
struct IPRangeTests {
    /// A range becomes the smallest list of CIDRs covering exactly it.
    @Test("converts ranges to minimal CIDR lists", arguments: [
        ("192.0.2.0-192.0.2.255", ["192.0.2.0/24"]),
        ("192.0.2.1-192.0.2.1", ["192.0.2.1/32"]),
        ("192.0.2.10-192.0.2.20", ["192.0.2.10/31", "192.0.2.12/30", "192.0.2.16/30", "192.0.2.20/32"]),
        ("192.168.1.240-192.168.1.250", ["192.168.1.240/29", "192.168.1.248/31", "192.168.1.250/32"]),
        ("0.0.0.0-255.255.255.255", ["0.0.0.0/0"]),
        ("0.0.0.1-255.255.255.255", ["0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/30", "0.0.0.8/29", "0.0.0.16/28", "0.0.0.32/27",
                                     "0.0.0.64/26", "0.0.0.128/25", "0.0.1.0/24", "0.0.2.0/23", "0.0.4.0/22", "0.0.8.0/21",
                                     "0.0.16.0/20", "0.0.32.0/19", "0.0.64.0/18", "0.0.128.0/17", "0.1.0.0/16", "0.2.0.0/15",
                                     "0.4.0.0/14", "0.8.0.0/13", "0.16.0.0/12", "0.32.0.0/11", "0.64.0.0/10", "0.128.0.0/9",
                                     "1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4", "32.0.0.0/3",
                                     "64.0.0.0/2", "128.0.0.0/1"]),
        ("255.255.255.254-255.255.255.255", ["255.255.255.254/31"]),
        ("10.0.0.255-10.0.1.0", ["10.0.0.255/32", "10.0.1.0/32"]),
        ("2001:db8::-2001:db8::ffff", ["2001:db8::/112"]),
        ("2001:db8::1-2001:db8::2", ["2001:db8::1/128", "2001:db8::2/128"]),
        ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ["::/0"]),
        ("8000::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ["8000::/1"]),
        ("fc00:f853:ccd:e799::-fc00:f853:ccd:e799::f", ["fc00:f853:ccd:e799::/124"]),
    ])
    func prefixes(_ text: String, _ expected: [String]) throws {
        let r = try IPRange(text)
        #expect(r.prefixes.map(\.description) == expected)
        // The CIDRs cover exactly the range's addresses.
        var total = AddressCount.zero
        for p in r.prefixes { total += p.count }
        #expect(total == r.count)
    }

    @Test("rejects reversed, mixed-family and malformed ranges", arguments: [
        ("10.0.0.9-10.0.0.1", NetworkParseError.Reason.reversedRange),
        ("2001:db8::2-2001:db8::1", .reversedRange),
        ("10.0.0.1-2001:db8::1", .mixedFamilies),
        ("2001:db8::1-10.0.0.1", .mixedFamilies),
        ("10.0.0.1", .missingRangeSeparator),
        ("", .empty),
        ("10.0.0.1-", .inner(NetworkParseError(.ipAddress, "", .empty))),
        ("-10.0.0.1", .inner(NetworkParseError(.ipAddress, "", .empty))),
        ("10.0.0.1-10.0.0.2-10.0.0.3", .inner(NetworkParseError(.ipAddress, "10.0.0.2-10.0.0.3", .invalidCharacter("-")))),
        ("10.0.0.1-10.0.0.256", .inner(NetworkParseError(.ipAddress, "10.0.0.256", .octetOutOfRange("256")))),
    ])
    func invalid(_ text: String, _ reason: NetworkParseError.Reason) {
        #expect(throws: NetworkParseError(.range, text, reason)) { try IPRange(text) }
    }

    /// MetalLB allows spaces around the dash.
    @Test("accepts whitespace around the dash")
    func whitespace() throws {
        #expect(try IPRange("10.0.0.1 - 10.0.0.5") == IPRange("10.0.0.1-10.0.0.5"))
    }

    @Test("parses pool entries as CIDR or range", arguments: [
        ("192.0.2.0/24", "192.0.2.0-192.0.2.255", false),
        ("192.0.2.7/24", "192.0.2.0-192.0.2.255", true),
        ("192.0.2.1-192.0.2.9", "192.0.2.1-192.0.2.9", false),
        ("2001:db8::/126", "2001:db8::-2001:db8::3", false),
    ])
    func poolEntry(_ text: String, _ range: String, _ hostBits: Bool) throws {
        let (r, h) = try IPRange.parsePoolEntry(text)
        #expect(r.description == range)
        #expect(h == hostBits)
    }

    @Test("a bare address is not a pool entry")
    func bareAddress() {
        #expect(throws: NetworkParseError(.prefix, "192.0.2.1", .missingPrefixLength)) { try IPRange.parsePoolEntry("192.0.2.1") }
        #expect(throws: NetworkParseError.self) { try IPRange.parsePoolEntry("bogus") }
    }

    @Test("answers containment and overlap, per family")
    func overlap() throws {
        let a = try IPRange("10.0.0.0-10.0.0.10"), b = try IPRange("10.0.0.10-10.0.0.20"), c = try IPRange("10.0.0.11-10.0.0.20")
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(!a.overlaps(c))
        #expect(a.contains(try IPAddress("10.0.0.10")))
        #expect(!a.contains(try IPAddress("::a")))
        #expect(IPRange(first: try IPAddress("10.0.0.2"), last: try IPAddress("10.0.0.1")) == nil)
        #expect(IPRange(first: try IPAddress("10.0.0.2"), last: try IPAddress("::1")) == nil)
    }
}

@Suite("Exact address counts")
struct AddressCountTests {
    @Test("prints exact decimal values beyond UInt128", arguments: [
        (AddressCount.powerOfTwo(0), "1"),
        (AddressCount.powerOfTwo(64), "18446744073709551616"),
        (AddressCount.powerOfTwo(127), "170141183460469231731687303715884105728"),
        (AddressCount.powerOfTwo(128), "340282366920938463463374607431768211456"),
        (AddressCount.powerOfTwo(128) + AddressCount.powerOfTwo(128), "680564733841876926926749214863536422912"),
        (AddressCount.powerOfTwo(128) + 1, "340282366920938463463374607431768211457"),
        (AddressCount(UInt128.max), "340282366920938463463374607431768211455"),
        (AddressCount.zero, "0"),
    ])
    func decimal(_ count: AddressCount, _ text: String) {
        #expect(count.description == text)
    }

    @Test("saturates only where a consumer needs it")
    func saturation() {
        #expect(AddressCount(256).int64Saturated == 256)
        #expect(AddressCount.powerOfTwo(64).int64Saturated == .max)
        #expect(AddressCount.powerOfTwo(64).doubleValue == 0x1p64)
        #expect(AddressCount.powerOfTwo(128).doubleValue == 0x1p128)
        #expect(AddressCount(5) - AddressCount(7) == .zero)
        #expect(AddressCount.powerOfTwo(128) - 1 == AddressCount(UInt128.max))
        #expect(AddressCount(3) < AddressCount.powerOfTwo(128))
        #expect(AddressCount.inclusive(from: 0, to: .max) == .powerOfTwo(128))
    }
}

import Testing
@testable import NetworkPrimitives

@Suite("MAC addresses")
struct MACAddressTests {
    @Test("parses the three 48-bit forms", arguments: [
        ("6e:7d:40:73:34:f7", "6e:7d:40:73:34:f7"), ("6E:7D:40:73:34:F7", "6e:7d:40:73:34:f7"),
        ("6e-7d-40-73-34-f7", "6e:7d:40:73:34:f7"), ("6e7d.4073.34f7", "6e:7d:40:73:34:f7"),
        ("ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"), ("00:00:00:00:00:00", "00:00:00:00:00:00"),
    ])
    func valid(_ text: String, _ canonical: String) throws {
        #expect(try MACAddress(text).description == canonical)
    }

    @Test("rejects malformed MACs", arguments: [
        "", "6e:7d:40:73:34", "6e:7d:40:73:34:f7:00", "6e:7d:40:73:34:g7", "6e:7d-40:73:34:f7", "6e7d4073:34f7",
        "6e:7d:40:73:34:f", "6e:7d:40:73:344:f", "6e7d.4073.34f", "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00",
        " 6e:7d:40:73:34:f7",
    ])
    func invalid(_ text: String) {
        #expect(throws: NetworkParseError.self) { try MACAddress(text) }
    }

    @Test("knows broadcast and multicast")
    func flags() throws {
        #expect(MACAddress.broadcast.isBroadcast)
        #expect(try MACAddress("33:33:00:00:00:01").isMulticast)
        #expect(try !MACAddress("6e:7d:40:73:34:f7").isMulticast)
        #expect(MACAddress(bytes: [1, 2, 3, 4, 5, 6])?.description == "01:02:03:04:05:06")
        #expect(MACAddress(bytes: [1, 2, 3]) == nil)
    }
}

@Suite("AS numbers")
struct ASNTests {
    @Test("parses asplain and asdot", arguments: [
        ("64512", UInt32(64512)), ("0", 0), ("4294967295", .max), ("65536", 65536),
        ("1.0", 65536), ("1.10", 65546), ("65535.65535", .max), ("0.100", 100), ("64086.59904", 4_200_000_000),
    ])
    func valid(_ text: String, _ value: UInt32) throws {
        #expect(try ASN(text).value == value)
    }

    @Test("rejects malformed ASNs", arguments: [
        "", "4294967296", "-1", "1.2.3", "65536.0", "1.65536", "AS64512", "645 12", "0x10", "01", "1.", ".1", "1.01",
    ])
    func invalid(_ text: String) {
        #expect(throws: NetworkParseError.self) { try ASN(text) }
    }

    @Test("formats asdot and classifies")
    func formats() {
        #expect(ASN(65546).asdot == "1.10")
        #expect(ASN(64512).asdot == "64512")
        #expect(ASN(70000).isFourOctet)
        #expect(!ASN(65535).isFourOctet)
        #expect(ASN(64512).isPrivate && ASN(4_200_000_000).isPrivate && !ASN(3320).isPrivate)
        #expect(ASN(0).isReservedForProtocol && ASN.trans.isReservedForProtocol)
    }
}

@Suite("BGP communities")
struct CommunityTests {
    @Test("parses standard communities and well-known names", arguments: [
        ("65000:100", UInt32(0xFDE8_0064)), ("0:0", 0), ("65535:65535", .max), ("64512:1", 0xFC00_0001),
        ("no-export", 0xFFFF_FF01), ("no-advertise", 0xFFFF_FF02), ("no-export-subconfed", 0xFFFF_FF03),
        ("local-as", 0xFFFF_FF03), ("no-peer", 0xFFFF_FF04), ("blackhole", 0xFFFF_029A),
        ("graceful-shutdown", 0xFFFF_0000), ("accept-own", 0xFFFF_0001), ("065000:0100", 0xFDE8_0064),
    ])
    func standard(_ text: String, _ value: UInt32) throws {
        #expect(try BGPCommunity(text).value == value)
    }

    @Test("rejects malformed standard communities", arguments: [
        ("70000:1", "value"), ("1:70000", "value"), ("1", "shape"), ("1:2:3", "shape"), ("a:b", "shape"),
        ("", "shape"), ("-1:1", "shape"), ("1:", "shape"), (":1", "shape"), ("no-such-name", "name"), ("1 :2", "shape"),
    ])
    func invalid(_ text: String, _ kind: String) {
        do {
            _ = try BGPCommunity(text)
            Issue.record("\(text) parsed")
        } catch {
            switch (kind, error.reason) {
            case ("value", .valueOutOfRange), ("shape", .wrongShape), ("shape", .empty), ("name", .unknownName): break
            default: Issue.record("\(text): unexpected \(error.reason)")
            }
        }
    }

    @Test("parses large communities", arguments: [
        ("large:1:2:3", "large:1:2:3"), ("1:2:3", "large:1:2:3"), ("large:4294967295:0:4294967295", "large:4294967295:0:4294967295"),
    ])
    func large(_ text: String, _ canonical: String) throws {
        #expect(try LargeCommunity(text).description == canonical)
    }

    @Test("rejects malformed large communities", arguments: [
        "large:1:2", "large:1:2:3:4", "large:4294967296:1:1", "large:a:b:c", "large:", "large:1::3", "big:1:2:3",
    ])
    func largeInvalid(_ text: String) {
        #expect(throws: NetworkParseError.self) { try LargeCommunity(text) }
    }

    @Test("a Community is large only with the large: prefix")
    func either() throws {
        #expect(try Community("large:1:2:3") == .large(LargeCommunity(1, 2, 3)))
        #expect(try Community("65000:1") == .standard(BGPCommunity(65000, 1)))
        #expect(throws: NetworkParseError.self) { try Community("1:2:3") }
        #expect(BGPCommunity(0xFFFF_FF01).wellKnownName == "no-export")
        #expect(BGPCommunity(0xFFFF_FF03).wellKnownName == "no-export-subconfed")
    }
}

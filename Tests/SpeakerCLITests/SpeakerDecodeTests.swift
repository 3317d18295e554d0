import Foundation
import TestSupport
import Testing

@Suite("speaker decode", .dedicatedThreads)
struct SpeakerDecodeTests {
    /// Frames captured from the kernel and BIRD's OPEN decode to readable lines (golden output).
    @Test("explains captured frames and BGP messages")
    func golden() throws {
        var out = ""
        for args in [["frame", "--pcap", "arp-request-reply.pcap"], ["frame", "--pcap", "arp-gratuitous-request.pcap"],
                     ["ndp", "--pcap", "ndp-solicit-advert.pcap"], ["bgp", "--file", "bird-open.bin"]] {
            let r = try SpeakerProcess.run(["decode"] + args)
            #expect(r.status == 0, "\(args)")
            out += r.stdout
        }
        #expect(out == (try SpeakerProcess.golden("decode.txt")))
    }

    @Test("malformed input is explained and exits 1", arguments: [
        (["bgp", "ffffffffffffffffffffffffffffffff001309"], "message 1: malformed; a speaker answers NOTIFICATION Message Header Error / Bad Message Type (1/3) data 09\n"),
        (["bgp", "ffffffffffffffffffffffffffffffff0041"], "message 1: truncated: 18 bytes left, the header announces more\n"),
        (["arp", "ff:ff"], "invalid Ethernet frame: truncated: 2 bytes, need 14\n"),
        (["ndp", "ffffffffffff02000000000a0806000108000604000102000000000ac00002"], "02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff: EtherType 0x806 is not NDP\n"),
    ])
    func malformed(_ args: [String], _ expected: String) throws {
        let r = try SpeakerProcess.run(["decode"] + args)
        #expect(r.status == 1)
        #expect(r.stdout == expected)
    }

    @Test("bad usage exits 2", arguments: [["bgp"], ["arp", "zz"], ["bgp", "--pcap", "x.pcap"], ["frame", "--pcap", "missing.pcap"]])
    func usage(_ args: [String]) throws {
        #expect(try SpeakerProcess.run(["decode"] + args).status == 2)
    }
}

/// LinkLayer owns the frames layer 2 mode sends and answers: Ethernet II (802.1Q tags understood when parsing),
/// ARP requests, replies and gratuitous announcements (RFC 826, RFC 5227), and IPv6 Neighbour Solicitations and
/// Advertisements with their link-layer address options and ICMPv6 checksums (RFC 4861, RFC 4443).
///
/// Pure codecs on `ByteBuffer`: strict, bounds-checked decoding of any byte string (a malformed frame is an error
/// that says what is wrong, never a crash) and byte-exact encoding. No sockets, no I/O.
public enum LinkLayer {}

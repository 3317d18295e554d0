/// BGPProtocol owns BGP-4's wire format (RFC 4271) and, later, its state machine and Adj-RIB-Out. Messages are
/// value types with `ByteBuffer` codecs: `readBGPMessage()` returns nil while more bytes are needed and throws the
/// NOTIFICATION to send when the bytes are malformed (the error *is* the answer, as in GoBGP). No I/O.
///
/// So far: message framing, OPEN with capabilities (multiprotocol, route refresh, enhanced route refresh,
/// graceful restart, 4-octet ASN; others kept raw), KEEPALIVE, NOTIFICATION and ROUTE-REFRESH. UPDATE bodies are
/// carried undecoded until their attribute codecs land.
public enum BGPProtocol {}

/// NetworkPrimitives owns the value types every other Beacon module speaks in: IPv4/IPv6 addresses, prefixes,
/// inclusive ranges, exact address counts, MAC addresses, AS numbers and BGP communities.
///
/// It parses text strictly (a typo is an error that names the culprit, never a guess), formats canonically
/// (RFC 5952 for IPv6), and does no I/O. It depends on the standard library only: no Foundation.
public enum NetworkPrimitives {}

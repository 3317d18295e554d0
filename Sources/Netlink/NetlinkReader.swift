import CNetlink
import Glibc

/// Why netlink could not be read.
public struct NetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var message: String
    public var description: String { "netlink \(operation) failed: \(message)" }
}

/// Reads links and addresses from the kernel through libnl-route (a NETLINK_ROUTE socket and two caches).
public enum NetlinkReader {
    public static func interfaces() throws(NetlinkError) -> [NetworkInterface] {
        guard let sock = nl_socket_alloc() else { throw NetlinkError(operation: "socket", message: "out of memory") }
        defer { nl_socket_free(sock) }
        let connected = nl_connect(sock, NETLINK_ROUTE)
        guard connected >= 0 else { throw NetlinkError(operation: "connect", message: String(cString: nl_geterror(connected))) }

        var linkCache: OpaquePointer? = nil
        let linkResult = rtnl_link_alloc_cache(sock, AF_UNSPEC, &linkCache)
        guard linkResult >= 0, let links = linkCache else {
            throw NetlinkError(operation: "link dump", message: String(cString: nl_geterror(linkResult)))
        }
        defer { nl_cache_free(links) }
        var addrCache: OpaquePointer? = nil
        let addrResult = rtnl_addr_alloc_cache(sock, &addrCache)
        guard addrResult >= 0, let addrs = addrCache else {
            throw NetlinkError(operation: "address dump", message: String(cString: nl_geterror(addrResult)))
        }
        defer { nl_cache_free(addrs) }

        var addressesByIndex: [Int: [String]] = [:]
        var object = nl_cache_get_first(addrs)
        while let a = object {
            if let local = rtnl_addr_get_local(a), let text = addressText(local, family: rtnl_addr_get_family(a)) {
                addressesByIndex[Int(rtnl_addr_get_ifindex(a)), default: []].append("\(text)/\(nl_addr_get_prefixlen(local))")
            }
            object = nl_cache_get_next(a)
        }

        var out: [NetworkInterface] = []
        object = nl_cache_get_first(links)
        while let l = object {
            let index = Int(rtnl_link_get_ifindex(l))
            let master = Int(rtnl_link_get_master(l))
            var stateBuffer = [CChar](repeating: 0, count: 32)
            rtnl_link_operstate2str(rtnl_link_get_operstate(l), &stateBuffer, 32)
            out.append(NetworkInterface(
                index: index,
                name: rtnl_link_get_name(l).map { String(cString: $0) } ?? "if\(index)",
                mac: rtnl_link_get_addr(l).flatMap(macText),
                mtu: Int(rtnl_link_get_mtu(l)),
                flags: UInt32(truncatingIfNeeded: rtnl_link_get_flags(l)),
                operState: String(decoding: stateBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                masterIndex: master > 0 ? master : nil,
                kind: rtnl_link_get_type(l).map { String(cString: $0) },
                addresses: addressesByIndex[index] ?? []))
            object = nl_cache_get_next(l)
        }
        return out.sorted { $0.index < $1.index }
    }

    private static func bytes(_ addr: OpaquePointer) -> [UInt8] {
        let length = Int(nl_addr_get_len(addr))
        guard length > 0, let raw = nl_addr_get_binary_addr(addr) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: length))
    }

    private static func macText(_ addr: OpaquePointer) -> String? {
        let b = bytes(addr)
        guard b.count == 6 else { return nil }
        return b.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
    }

    private static func addressText(_ addr: OpaquePointer, family: Int32) -> String? {
        let b = bytes(addr)
        var buffer = [CChar](repeating: 0, count: 64)
        guard (family == AF_INET && b.count == 4) || (family == AF_INET6 && b.count == 16) else { return nil }
        let ok = b.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, 64) != nil }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }
}

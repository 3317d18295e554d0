import Glibc
import NetworkPrimitives

extension BFDEndpoint {
    /// A UDP socket on `::` (both families) receiving on `port`, reporting each packet's TTL or hop limit, with a
    /// 200 ms receive timeout so that its thread notices a stop.
    static func listener(port: UInt16) -> Result<Int32, BFDError> {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(BFDError(errnoText())) }
        var off: Int32 = 0, on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IP), IP_RECVTTL, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, &on, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        let rc = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard rc == 0 else {
            let text = errnoText()
            close(fd)
            return .failure(BFDError(text))
        }
        return .success(fd)
    }

    /// The socket a session sends from: TTL (hop limit) 255, bound to a source port in 49152–65535 (RFC 5881 §4).
    static func senderSocket(peer: IPAddress, source: IPAddress?) throws -> Int32 {
        let v6 = peer.family == .ipv6
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BFDError("cannot open a UDP socket: \(errnoText())") }
        var ttl: Int32 = 255
        if v6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, &ttl, socklen_t(MemoryLayout<Int32>.size))
        } else {
            setsockopt(fd, Int32(IPPROTO_IP), IP_TTL, &ttl, socklen_t(MemoryLayout<Int32>.size))
        }
        let any: IPAddress = v6 ? .v6(IPv6Address(0)) : .v4(IPv4Address(0))
        for _ in 0..<64 {
            let port = UInt16.random(in: 49152...65535)
            if withSockaddr(source ?? any, port: port, { bind(fd, $0, $1) }) == 0 { return fd }
        }
        let text = errnoText()
        close(fd)
        throw BFDError("cannot bind a BFD source port in 49152-65535: \(text)")
    }

    /// One packet: its source, TTL (or hop limit) and length; nil on timeout or error.
    static func receive(_ fd: Int32, _ buffer: inout [UInt8], _ control: inout [UInt8]) -> (IPAddress, Int?, Int)? {
        var from = sockaddr_in6()
        var ttl: Int?
        let n: Int = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { ctl in
                withUnsafeMutablePointer(to: &from) { fromPointer in
                    var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &iov) { iovPointer in
                        var msg = msghdr()
                        msg.msg_name = UnsafeMutableRawPointer(fromPointer)
                        msg.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
                        msg.msg_iov = iovPointer
                        msg.msg_iovlen = 1
                        msg.msg_control = ctl.baseAddress
                        msg.msg_controllen = ctl.count
                        let n = recvmsg(fd, &msg, 0)
                        guard n >= 0 else { return n }
                        var c = CMSG_FIRSTHDR_(&msg)
                        while let h = c {
                            let level = h.pointee.cmsg_level, type = h.pointee.cmsg_type
                            if (level == Int32(IPPROTO_IP) && type == IP_TTL) || (level == Int32(IPPROTO_IPV6) && type == IPV6_HOPLIMIT) {
                                ttl = Int(UnsafeRawPointer(h).advanced(by: cmsgHeaderLength).loadUnaligned(as: Int32.self))
                            }
                            c = CMSG_NXTHDR_(&msg, h)
                        }
                        return n
                    }
                }
            }
        }
        guard n >= 0 else { return nil }
        let bytes = withUnsafeBytes(of: from.sin6_addr) { Array($0) }
        let address = IPAddress.v6(IPv6Address(bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })).unmapped
        return (address, ttl, n)
    }

    static func withSockaddr<R>(_ ip: IPAddress, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch ip {
        case .v4(let a):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = a.value.bigEndian
            return withUnsafePointer(to: &sa) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        case .v6(let a):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            var v = a.value
            withUnsafeMutableBytes(of: &sa.sin6_addr) { out in
                for i in (0..<16).reversed() { out[i] = UInt8(truncatingIfNeeded: v); v >>= 8 }
            }
            return withUnsafePointer(to: &sa) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        }
    }
}

private let cmsgHeaderLength = (MemoryLayout<cmsghdr>.size + MemoryLayout<Int>.size - 1) & ~(MemoryLayout<Int>.size - 1)

private func CMSG_FIRSTHDR_(_ msg: UnsafeMutablePointer<msghdr>) -> UnsafeMutablePointer<cmsghdr>? {
    guard msg.pointee.msg_controllen >= MemoryLayout<cmsghdr>.size, let base = msg.pointee.msg_control else { return nil }
    return base.assumingMemoryBound(to: cmsghdr.self)
}

private func CMSG_NXTHDR_(_ msg: UnsafeMutablePointer<msghdr>, _ h: UnsafeMutablePointer<cmsghdr>) -> UnsafeMutablePointer<cmsghdr>? {
    let align = MemoryLayout<Int>.size
    let length = (Int(h.pointee.cmsg_len) + align - 1) & ~(align - 1)
    let next = UnsafeMutableRawPointer(h).advanced(by: length)
    guard let base = msg.pointee.msg_control else { return nil }
    let end = base.advanced(by: Int(msg.pointee.msg_controllen))
    guard next.advanced(by: MemoryLayout<cmsghdr>.size) <= end else { return nil }
    let n = next.assumingMemoryBound(to: cmsghdr.self)
    guard next.advanced(by: Int(n.pointee.cmsg_len)) <= end, n.pointee.cmsg_len >= MemoryLayout<cmsghdr>.size else { return nil }
    return n
}

func errnoText() -> String { String(cString: strerror(errno)) + " (errno \(errno))" }

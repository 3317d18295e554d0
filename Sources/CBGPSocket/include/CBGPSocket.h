#pragma once
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// The TCP_MD5SIG option value (RFC 2385) for one peer: set it with setsockopt(IPPROTO_TCP, TCP_MD5SIG) before
/// connect. keylen 0 clears the key. Keys longer than TCP_MD5SIG_MAXKEYLEN (80) are cut there; callers refuse them first.
struct tcp_md5sig cbgp_md5sig(const struct sockaddr *peer, socklen_t peerlen, const void *key, int keylen);

/// IPV6_MINHOPCOUNT where libc lacks it.
int cbgp_ipv6_minhopcount(void);

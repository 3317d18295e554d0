#include "CBGPSocket.h"
#include <string.h>

struct tcp_md5sig cbgp_md5sig(const struct sockaddr *peer, socklen_t peerlen, const void *key, int keylen) {
    struct tcp_md5sig sig;
    memset(&sig, 0, sizeof(sig));
    if (peerlen > sizeof(sig.tcpm_addr)) peerlen = sizeof(sig.tcpm_addr);
    memcpy(&sig.tcpm_addr, peer, peerlen);
    if (keylen < 0) keylen = 0;
    if (keylen > TCP_MD5SIG_MAXKEYLEN) keylen = TCP_MD5SIG_MAXKEYLEN;
    sig.tcpm_keylen = (unsigned short)keylen;
    if (keylen > 0) memcpy(sig.tcpm_key, key, (size_t)keylen);
    return sig;
}

#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif
int cbgp_ipv6_minhopcount(void) { return IPV6_MINHOPCOUNT; }

#include "CPacket.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

// ldh [12]; ARP → accept; IPv6 → ldb [20] == 58 (ICMPv6, no extension headers) → ldb [54] in {135, 136} → accept.
static struct sock_filter neighbour_filter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 6),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 4),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

int cpacket_open(int ifindex) {
    // Protocol 0: nothing is queued until bind, by which time the filter is in place.
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sock_fprog prog = { .len = sizeof(neighbour_filter) / sizeof(neighbour_filter[0]), .filter = neighbour_filter };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) goto fail;
    int one = 1;
    // Frames we send are not looped back to us (Linux 4.20+); older kernels: the announcer drops its own MAC.
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) goto fail;
    // Room for a takeover burst of thousands of frames, and for a storm of requests. SO_*BUFFORCE works only with
    // CAP_NET_ADMIN, which the DaemonSet does not grant: then the sysctls net.core.wmem_max/rmem_max cap the size, and
    // cpacket_send waits for room, so a burst is paced by the link rather than lost.
    int bufsize = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

int cpacket_membership(int fd, int ifindex, const uint8_t mac[6], int join) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof(mr));
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_MULTICAST;
    mr.mr_alen = 6;
    memcpy(mr.mr_address, mac, 6);
    if (setsockopt(fd, SOL_PACKET, join ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr, sizeof(mr)) < 0) return -errno;
    return 0;
}

long cpacket_send(int fd, const uint8_t *frame, unsigned long length, int wait_ms) {
    for (;;) {
        ssize_t n = send(fd, frame, length, MSG_DONTWAIT);
        if (n >= 0) return (long)n;
        if (errno == EINTR) continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) || wait_ms <= 0) return -errno;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int r = poll(&p, 1, wait_ms);
        if (r <= 0) return r == 0 ? -EAGAIN : -errno;
        wait_ms = 0;  // one wait only
        ssize_t again = send(fd, frame, length, MSG_DONTWAIT);
        return again >= 0 ? (long)again : -errno;
    }
}

int cpacket_statistics(int fd, unsigned int *packets, unsigned int *drops) {
    struct tpacket_stats st;
    socklen_t len = sizeof(st);
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return -errno;
    *packets = st.tp_packets;
    *drops = st.tp_drops;
    return 0;
}

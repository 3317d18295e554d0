#pragma once
#include <stdint.h>

/// Opens an AF_PACKET socket bound to one interface that receives only ARP frames and ICMPv6 neighbour
/// solicitations/advertisements (a classic BPF filter attached before bind, so nothing else is ever queued),
/// ignores frames this host sends, and is non-blocking and close-on-exec.
/// Returns the descriptor, or -errno.
int cpacket_open(int ifindex);

/// Joins (join != 0) or leaves a link-layer multicast group on the socket's interface (PACKET_ADD_MEMBERSHIP /
/// PACKET_DROP_MEMBERSHIP with PACKET_MR_MULTICAST): how solicitations to a solicited-node group reach us when the
/// address is not configured on the interface. Returns 0 or -errno.
int cpacket_membership(int fd, int ifindex, const uint8_t mac[6], int join);

/// Sends one whole Ethernet frame on the bound interface: one send(2), one frame. On a full send buffer waits for
/// room up to `wait_ms` milliseconds, then gives up. Returns bytes sent or -errno.
long cpacket_send(int fd, const uint8_t *frame, unsigned long length, int wait_ms);

/// Receive queue statistics since the last call (PACKET_STATISTICS): frames delivered and dropped.
int cpacket_statistics(int fd, unsigned int *packets, unsigned int *drops);

#!/usr/bin/env bash
# Regenerates the pcap fixtures: frames the Linux kernel, iputils arping and ndisc6 really send.
# Two namespaces on a veth pair; documentation addresses only. Needs root. Cleans up on any exit.
set -euo pipefail
cd "$(dirname "$0")"
A="bcn-cap-a-$$"; B="bcn-cap-b-$$"
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add eth0 netns "$A" type veth peer name eth0 netns "$B"
ip -n "$A" link set eth0 address 02:00:00:00:00:0a up; ip -n "$B" link set eth0 address 02:00:00:00:00:0b up
ip -n "$A" addr add 192.0.2.10/24 dev eth0; ip -n "$B" addr add 192.0.2.11/24 dev eth0
ip -n "$A" addr add 2001:db8::a/64 dev eth0 nodad; ip -n "$B" addr add 2001:db8::b/64 dev eth0 nodad
sleep 2   # let the link-local addresses finish DAD
capture() {  # capture FILE FILTER COMMAND...
  local file=$1 filter=$2; shift 2
  ip netns exec "$B" tcpdump -i eth0 -w "$file" -U "$filter" 2>/dev/null & local pid=$!
  sleep 1; "$@" >/dev/null 2>&1 || true; sleep 0.5; kill "$pid"; wait "$pid" 2>/dev/null || true
}
capture arp-request-reply.pcap arp ip netns exec "$A" arping -c 1 -I eth0 192.0.2.11
capture arp-gratuitous-request.pcap arp ip netns exec "$A" arping -c 1 -U -I eth0 192.0.2.10
capture arp-gratuitous-reply.pcap arp ip netns exec "$A" arping -c 1 -A -I eth0 192.0.2.10
capture ndp-solicit-advert.pcap icmp6 ip netns exec "$A" ndisc6 -1 -r 1 2001:db8::b eth0
ls -l *.pcap

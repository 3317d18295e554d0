#!/usr/bin/env bash
# Regenerates the OPEN messages real BGP speakers send: GoBGP (gobgpd) and BIRD 2 each dial a plain TCP listener
# in another namespace, which saves the first bytes it receives. Documentation addresses only; needs root.
set -euo pipefail
cd "$(dirname "$0")"
A="bcn-bgpcap-a-$$"; B="bcn-bgpcap-b-$$"; RUN=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add eth0 netns "$A" type veth peer name eth0 netns "$B"
ip -n "$A" link set eth0 up; ip -n "$B" link set eth0 up; ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" addr add 192.0.2.1/24 dev eth0; ip -n "$B" addr add 192.0.2.2/24 dev eth0
listen() {  # listen OUTPUT: accept one connection on 192.0.2.2:179 and keep what arrives in the first second
  ip netns exec "$B" python3 - "$1" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 179)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(1); data = b""
end = time.time() + 1
while time.time() < end:
    try:
        chunk = c.recv(4096)
        if not chunk: break
        data += chunk
    except socket.timeout:
        break
open(sys.argv[1], "wb").write(data)
PY
  pids+=($!)
}
# GoBGP, 4-octet ASN, IPv4 and IPv6 unicast.
listen gobgp-open.bin; sleep 0.5
cat > "$RUN/gobgpd.toml" <<TOML
[global.config]
  as = 4200000001
  router-id = "192.0.2.1"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.2"
    peer-as = 64512
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
TOML
ip netns exec "$A" gobgpd -f "$RUN/gobgpd.toml" --api-hosts 127.0.0.1:50151 --pprof-disable >/dev/null 2>&1 & pids+=($!)
wait "${pids[0]}" || true
kill "${pids[1]}" 2>/dev/null || true
# BIRD 2, 2-octet ASN.
pids=()
listen bird-open.bin; sleep 0.5
cat > "$RUN/bird.conf" <<CONF
router id 192.0.2.1;
protocol device {}
protocol bgp peer { local 192.0.2.1 as 64513; neighbor 192.0.2.2 as 64512; hold time 9; connect retry time 1;
  ipv4 { import all; export none; }; ipv6 { import all; export none; }; }
CONF
ip netns exec "$A" bird -f -c "$RUN/bird.conf" -s "$RUN/bird.ctl" -P "$RUN/bird.pid" >/dev/null 2>&1 & pids+=($!)
wait "${pids[0]}" || true
ls -l *.bin

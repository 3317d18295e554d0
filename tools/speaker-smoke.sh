#!/bin/bash
# `speaker run` for a few seconds against an API server that refuses (nothing to announce): the process must start on
# jemalloc, serve /metrics, and stop within 5 s of SIGTERM. `make image-check` runs it on the release speaker.
set -uo pipefail
bin=${1:?usage: speaker-smoke.sh SPEAKER_BINARY}
work=$(mktemp -d /tmp/speaker-smoke.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/kubeconfig" <<'KC'
apiVersion: v1
kind: Config
clusters: [{name: refused, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: refused, user: {}}]
contexts: [{name: refused, context: {cluster: refused, user: refused}}]
current-context: refused
KC
port=$((20000 + RANDOM % 20000))
"$bin" run --kubeconfig "$work/kubeconfig" --node-name smoke --admin-addr "127.0.0.1:$port" --ml-disabled >"$work/log" 2>&1 &
pid=$!
sleep 3
fail() { echo "speaker smoke test: $*" >&2; cat "$work/log" >&2; exit 1; }
kill -0 "$pid" 2>/dev/null || fail "the speaker exited"
grep -q 'allocator=jemalloc' "$work/log" || fail "the speaker does not run on jemalloc"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -q '^beacon_process_heap_bytes' || fail "no /metrics on port $port"
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGTERM"
wait "$pid"; rc=$?
pid=""
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"

# Sourced by the kubectl test scripts (Tests/*/Fixtures/*.sh): a scratch directory, check helpers, and
# start_emulator, which runs kube-emulator on a free port and points KUBECONFIG at it. Everything is removed on exit.
WORK=$(mktemp -d /tmp/beacon-kubectl.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
# check NAME REGEX CMD...: CMD must succeed and print something matching REGEX (grep -E, multi-line input).
check() {
  local name=$1 pattern=$2; shift 2
  local out
  if ! out=$("$@" 2>&1); then fail "$name: command failed: $* -> $out"; return; fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then fail "$name: /$pattern/ not in output of $*:"; sed 's/^/    /' <<<"$out"; return; fi
  echo "ok: $name"
}
# check_fails NAME REGEX CMD...: CMD must fail and print REGEX.
check_fails() {
  local name=$1 pattern=$2; shift 2
  local out
  if out=$("$@" 2>&1); then fail "$name: expected failure: $*"; return; fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then fail "$name: /$pattern/ not in: $out"; return; fi
  echo "ok: $name"
}
# start_emulator KUBE_EMULATOR: a fresh emulator with a token and a data directory in $WORK.
start_emulator() {
  echo "token-$$" > "$WORK/tokens"
  "$1" --port 0 --token-file "$WORK/tokens" --data-dir "$WORK/data" --write-kubeconfig "$WORK/kubeconfig" > "$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/log" && break; sleep 0.05; done
  export KUBECONFIG=$WORK/kubeconfig
}

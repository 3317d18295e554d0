#!/bin/bash
# Regenerates tools/speaker.order: every function a release speaker runs from start to idle while announcing
# $SERVICES Services (default 1000, so that code only a large cluster reaches, such as table growth, is in), from
# startup through informers, planning, status writes, layer 2 answers and scrapes, as valgrind's callgrind records it
# under `beacon-bench speaker-idle`. `make release` links these first in .text (lld
# --symbol-ordering-file), so the code a running speaker touches shares pages (Docs/benchmarks.md, "speaker idle").
# Names that no longer exist are ignored by the link, so a stale list costs memory, never correctness.
# Needs root (the benchmark's namespaces) and a release build: `make release && tools/gen-speaker-order.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
command -v valgrind >/dev/null || apt-get install -y -q valgrind
release=$(pwd)/.build/release
work=$(mktemp -d /tmp/speaker-order.XXXXXX)
trap 'rm -rf "$work"' EXIT
for b in beacon-bench beacon-lab controller kube-emulator; do ln -s "$release/$b" "$work/$b"; done
cat > "$work/speaker" <<WRAP
#!/bin/sh
if [ "\$1" = run ]; then exec valgrind -q --tool=callgrind --demangle=no --callgrind-out-file=$work/callgrind.%p "$release/speaker" "\$@"; fi
exec "$release/speaker" "\$@"
WRAP
chmod +x "$work/speaker"
# The lab stops the speaker with SIGTERM when the benchmark ends; callgrind writes its file then.
"$work/beacon-bench" speaker-idle --services "${SERVICES:-1000}"
sleep 2
python3 - "$work" tools/speaker.order <<'PY'
import glob, re, sys
names = set()
for path in glob.glob(sys.argv[1] + "/callgrind.*"):
    for line in open(path, errors="replace"):
        m = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
        if m and not m.group(1).startswith("0x"):
            names.add(m.group(1))
if len(names) < 1000:
    sys.exit(f"only {len(names)} functions recorded: did the speaker run under callgrind?")
open(sys.argv[2], "w").write("".join(n + "\n" for n in sorted(names)))
print(f"{len(names)} functions written to {sys.argv[2]}")
PY

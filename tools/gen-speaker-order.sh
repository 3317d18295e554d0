#!/bin/bash
# Regenerates tools/speaker.order and tools/speaker.ld: every function a release speaker runs from start to idle while
# announcing $SERVICES Services (default 1000, so that code only a large cluster reaches, such as table growth, is in), from
# startup through informers, planning, status writes, layer 2 answers and scrapes, as valgrind's callgrind records it
# under `beacon-bench speaker-idle`. `make release` links these first in .text (lld
# --symbol-ordering-file), so the code a running speaker touches shares pages (Docs/benchmarks.md, "speaker idle").
# Callgrind records every instruction the speaker executes (--dump-instr=yes); the link map says which input section
# each falls in. Its function names are not enough: callgrind charges code entered by a jump to the function that
# jumped, so thunks, merged functions and unnamed helpers reached by tail calls would be missed, each one then costing
# a page (or a 64 KB fault-around block) outside the ordered span.
# A section named after its function (-function-sections) goes into the order file by that name; a section of a library
# compiled without function sections (the Swift runtime, jemalloc) by the first symbol in it; functions without a
# symbol go to tools/speaker.ld by object and section name (`.L` names carry a number that shifts when the code
# changes). Names that no longer exist are ignored by the link, so stale lists cost memory, never correctness.
# Needs root (the benchmark's namespaces) and a release build: `make release && tools/gen-speaker-order.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
command -v valgrind >/dev/null || apt-get install -y -q valgrind
release=$(pwd)/.build/release
map=$(pwd)/.build/speaker.map  # written by the release speaker's link (SPEAKER_FLAGS)
[ -f "$map" ] || { echo "no $map: run make release first" >&2; exit 1; }
grep -q '^ .* _Z' "$map" || { echo "$map has demangled names: relink with make release" >&2; exit 1; }
work=$(mktemp -d /tmp/speaker-order.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -o "$work/touch.so" tools/speaker-touch.c -ldl
# Two runs of the benchmark: the speaker under callgrind, then natively with tools/speaker-touch.c recording the code
# pages it touches first (what the simulated CPU does not run: other CPU features, real timing).
for run in callgrind native; do
  mkdir "$work/$run"
  for b in beacon-bench beacon-lab controller kube-emulator; do ln -s "$release/$b" "$work/$run/$b"; done
  if [ $run = callgrind ]; then
    record="valgrind -q --tool=callgrind --dump-instr=yes --demangle=no --callgrind-out-file=$work/callgrind.%p"
  else
    record="env SPEAKER_TOUCH_LOG=$work/pages LD_PRELOAD=$work/touch.so"
  fi
  printf '#!/bin/sh\nif [ "$1" = run ]; then exec %s "%s" "$@"; fi\nexec "%s" "$@"\n' "$record" "$release/speaker" "$release/speaker" > "$work/$run/speaker"
  chmod +x "$work/$run/speaker"
  # The lab stops the speaker with SIGTERM when the benchmark ends; callgrind writes its file then.
  "$work/$run/beacon-bench" speaker-idle --services "${SERVICES:-1000}"
  sleep 2
done
python3 - "$work" tools/speaker.order tools/speaker.ld "$map" <<'PY'
import bisect, glob, re, sys
work, order_path, script_path, map_path = sys.argv[1:5]

# The link map: each input section of the speaker's code (address, size, object, name) and the symbols in it.
sections, symbols, current = [], {}, None
for line in open(map_path, errors="replace"):
    m = re.match(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*):\((\.text[^)]*)\)$", line)
    if m:
        current = None
        if int(m.group(2), 16) > 0:
            current = (int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4))
            sections.append(current)
        continue
    m = re.match(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+\d+\s+(\S+)$", line)
    if m and current is not None and not m.group(1).startswith("."):
        symbols.setdefault(current, []).append(m.group(1))  # in address order
    elif not m:
        current = None
sections.sort()
starts = [s[0] for s in sections]

# Callgrind's files: instruction addresses (positions "instr line": absolute 0x.., relative +n/-n, or * for the same).
# Code in the speaker's .text comes under the speaker's object, at link addresses. Code in sections valgrind does not
# take for the object's text (.text.beacon_hot, made by tools/speaker.ld) comes under "???", at run-time addresses: the
# speaker's load address is the offset that puts the most of those functions' entries at the start of a section.
executed, foreign, entries = set(), set(), set()
for path in glob.glob(work + "/callgrind.*"):
    objects, where, last, entry = {}, None, 0, False
    for line in open(path, errors="replace"):
        if line.startswith(("ob=", "cob=")):
            m = re.match(r"^c?ob=\((\d+)\)(?: (.+))?$", line.rstrip("\n"))
            if m.group(2): objects[m.group(1)] = m.group(2)
            if line.startswith("ob="):
                name = objects.get(m.group(1), "")
                where = executed if name.endswith("/speaker") else foreign if name == "???" else None
            continue
        if line.startswith("fn="):
            entry = True
            continue
        if where is None or not line or line[0] not in "0+-*":
            continue
        field = line.split(None, 1)[0]
        if field.startswith("0x"): last = int(field, 16)
        elif field[0] == "+": last += int(field[1:])
        elif field[0] == "-": last -= int(field[1:])
        where.add(last)
        if entry and where is foreign: entries.add(last)
        entry = False
if len(executed) < 100000:
    sys.exit(f"only {len(executed)} instructions recorded: did the speaker run under callgrind?")
# tools/speaker-touch.c's records: per page, the first address touched and the instruction that did (link addresses).
touched = set()
for path in glob.glob(work + "/pages.*"):
    for line in open(path):
        address, ip = (int(x, 16) for x in line.split())
        touched.add(ip or address)
if len(touched) < 100:
    sys.exit(f"only {len(touched)} pages recorded natively: did tools/speaker-touch.c load?")
section_starts, by_page_offset, votes = set(starts), {}, {}
for a in starts: by_page_offset.setdefault(a % 4096, []).append(a)
for e in entries:  # the load address is page-aligned: only sections at the same offset in their page can match
    for a in by_page_offset.get(e % 4096, []):
        if e > a: votes[e - a] = votes.get(e - a, 0) + 1
base = max(votes, key=votes.get) if votes else None
if base is not None and sum(1 for e in entries if e - base in section_starts) >= 3:
    executed |= {a - base for a in foreign}
print(f"{len(executed)} instruction addresses recorded" + (f" (load address {base:#x} for {len(foreign)} outside .text)" if base else "")
      + f", {len(touched)} pages' first instructions natively")
executed |= touched

names, wanted, skipped = set(), set(), 0
for a in executed:
    i = bisect.bisect_right(starts, a) - 1
    if i < 0 or a >= sections[i][0] + sections[i][1]: continue
    s = sections[i]; _, _, obj, sec = s
    if sec.startswith(".text..L"):
        # No symbol (closure context destructors, value witness thunks: private in LLVM): a linker script places
        # these sections just before .text, next to the ordered functions.
        if "/release/" not in obj or not re.fullmatch(r"[A-Za-z0-9_.$]+", sec):
            skipped += 1
            continue
        wanted.add((obj.split("/release/", 1)[1], sec))
    elif sec.startswith(".text.") and sec[len(".text."):] in symbols.get(s, ()):
        names.add(sec[len(".text."):])  # a function section, named after its function
    elif s in symbols:
        # By its first symbol: any symbol of a library's whole .text (it moves as one), of .text.startup (static
        # constructors) or of .text.unlikely (cold parts the compiler split off).
        names.add(symbols[s][0])
if len(names) < 1000:
    sys.exit(f"only {len(names)} functions found: does {map_path} belong to this build?")
open(order_path, "w").write("".join(n + "\n" for n in sorted(names)))
print(f"{len(names)} functions written to {order_path}")
lines = [f"    *{obj}({sec})\n" for obj, sec in sorted(wanted)]
open(script_path, "w").write(
    "/* Generated by tools/gen-speaker-order.sh: the unnamed functions (`.L` sections) a speaker runs, placed just before\n"
    "   .text and the functions of tools/speaker.order. An added output section; the default layout stays (INSERT). */\n"
    "SECTIONS\n{\n  .text.beacon_hot : {\n" + "".join(lines) + "  }\n}\nINSERT BEFORE .text;\n")
print(f"{len(wanted)} unnamed sections written to {script_path} ({skipped} outside the project's objects or unnameable)")
PY

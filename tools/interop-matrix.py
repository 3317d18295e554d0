#!/usr/bin/env python3
"""Runs the BGP and BFD interoperability suites (real BIRD, FRR and GoBGP in network namespaces; root) and prints
which feature works with which router: `make interop`. Each cell is `pass`, `FAIL: <the first failed expectation>`,
or why there is no test (the router lacks the feature, or Beacon does). Exit status 1 if a cell fails.

Usage: tools/interop-matrix.py TEST-BINARY
"""
import re, subprocess, sys

SUITES = "BGPPeerTests|BGPFamilyTests|BFDInteropTests"
ROUTERS = ["frr", "bird", "gobgp"]
NAMES = {"frr": "FRR 8.4", "bird": "BIRD 2", "gobgp": "GoBGP 3"}
# column -> the test that covers it, and how a router maps to the test's argument (None: the test has none).
COLUMNS = [
    ("IPv4 session", "eBGP: IPv4 and IPv6 prefixes with communities; SIGTERM withdraws at once", "kind"),
    ("IPv6 session", "iBGP over IPv6 with a 4-octet AS and LOCAL_PREF", "kind"),
    ("dual-stack", "eBGP: IPv4 and IPv6 prefixes with communities; SIGTERM withdraws at once", "kind"),
    ("dual-stack neighbours", "families per session against FRR's dual-stack neighbours: the right next hops in the kernel, never ::ffff:", "frr-only"),
    ("MD5", "TCP MD5: right key establishes, wrong key does not and is explained", "kind"),
    ("GTSM", "TTL security (GTSM): both ends establish; without it the router drops us", "kind"),
    ("graceful restart", "graceful restart: the router keeps the routes while the speaker restarts", "kind"),
    ("hold timer", "hold timer expiry on a silent peer, then re-establishment and re-advertisement", "kind"),
    ("route refresh", {"frr": "ROUTE-REFRESH: after an inbound policy change on FRR, soft in brings the paths back without a reset",
                       "bird": "ROUTE-REFRESH from BIRD is answered on the same session"}, "kind"),
    ("BFD", "the node goes silent: the router's BFD drops the session and the route goes in well under the hold time", "kind"),
    ("unnumbered", None, None),
]
NOT_TESTED = {
    ("dual-stack neighbours", "bird"): "n/a (FRR's configuration)",
    ("dual-stack neighbours", "gobgp"): "n/a (FRR's configuration)",
    ("BFD", "gobgp"): "n/a (GoBGP has no BFD)",
    ("route refresh", "gobgp"): "n/a (GoBGP re-reads its own copy; it sends no ROUTE-REFRESH)",
}
UNSUPPORTED = "not supported: Beacon has no unnumbered peering yet"

def main():
    binary = sys.argv[1]
    run = subprocess.run([binary, "--testing-library", "swift-testing", "--filter", SUITES],
                         capture_output=True, text=True, env={"NO_COLOR": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    out = run.stdout + run.stderr
    ran = set(re.findall(r'^[✔✘] Test "(.+?)"', out, re.M))
    failures = {}
    for name, arg, message in re.findall(r'^✘ Test "(.+?)" recorded an issue(?: with 1 argument \w+ → (\S+))? at [^:]+:\d+:\d+: (.*)$', out, re.M):
        failures.setdefault((name, arg.lstrip(".") or None), message)
    rows, failed = [], False
    for router in ROUTERS:
        row = [NAMES[router]]
        for column, test, mapping in COLUMNS:
            if test is None:
                row.append(UNSUPPORTED); continue
            if (column, router) in NOT_TESTED:
                row.append(NOT_TESTED[(column, router)]); continue
            name = test[router] if isinstance(test, dict) else test
            if name not in ran:
                row.append("not run"); failed = True; continue
            # A failure of this router's case, or of a test without arguments; an FRR-only test fails as a whole.
            msg = failures.get((name, router)) or failures.get((name, None))
            if mapping == "frr-only":
                msg = next((m for (n, _), m in failures.items() if n == name), None)
            row.append("pass" if msg is None else "FAIL: " + msg[:80])
            failed = failed or msg is not None
        rows.append(row)
    header = ["router"] + [c[0] for c in COLUMNS]
    for i, column in enumerate(header):
        if i == 0: continue
        print(f"{column}:")
        for row in rows: print(f"  {row[0]:<8} {row[i]}")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows: print("| " + " | ".join(row) + " |")
    return 1 if failed or run.returncode not in (0, 1) else 0

if __name__ == "__main__":
    sys.exit(main())

"""Checks deploy/ offline: renders the kustomize base and overlay and the Helm chart, validates every object
against the Kubernetes 1.32 schemas (kubernetes-validate, strict), checks the policies Beacon promises (least
privilege, pod security), checks the CRDs are gen-crds.py's output, and runs the CRD schemas against MetalLB's
documented examples (all must pass) and malformed objects (all must fail, naming the culprit).

Usage: python3 deploy/tools/check-manifests.py [--out DIR]      (run by `make check-deploy`, part of `make test`)
Needs kubectl, and helm + kubernetes-validate + jsonschema (the venv `make pytools` makes).
"""
import argparse, copy, glob, os, subprocess, sys, tempfile
import jsonschema, yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
BIN = os.path.dirname(sys.executable)
KUBE_VERSION = "1.32.0"
failures = []

def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)

def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[:2000]}")
    return r.stdout

def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]

def render(out):
    """name -> rendered YAML text."""
    helm = [os.path.join(BIN, "helm"), "template", "beacon", os.path.join(DEPLOY, "helm", "beacon"), "-n", "metallb-system"]
    rendered = {
        "kustomize-base": run(["kubectl", "kustomize", DEPLOY]),
        "kustomize-ha": run(["kubectl", "kustomize", os.path.join(DEPLOY, "ha")]),
        "helm-default": run(helm + ["--include-crds"]),
        "helm-options": run(helm + ["--set", "controller.replicas=2", "--set", "speaker.memberlist.enabled=false",
                                    "--set", "speaker.excludeInterfaces={^cali.*,^tun}", "--set", "speaker.ignoreExcludeLB=true",
                                    "--set", "loadBalancerClass=beacon.io/lb", "--set", "image.repository=registry.example/beacon",
                                    "--set", "image.tag=0.1.1", "--set", "logLevel=debug"]),
    }
    for name, text in rendered.items():
        with open(os.path.join(out, name + ".yaml"), "w") as f:
            f.write(text)
    return rendered

def validate(out, rendered):
    for name in rendered:
        path = os.path.join(out, name + ".yaml")
        r = subprocess.run([os.path.join(BIN, "kubernetes-validate"), "--strict", "--quiet", "-k", KUBE_VERSION, path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"kubernetes-validate {name}: {(r.stdout + r.stderr).strip()[:3000]}")
        else:
            print(f"ok   kubernetes-validate {KUBE_VERSION} --strict {name}: {len(docs(rendered[name]))} objects")
    run([os.path.join(BIN, "helm"), "lint", "--strict", os.path.join(DEPLOY, "helm", "beacon")])
    # The hardening examples are plain Kubernetes objects: the same strict schema check.
    for path in sorted(glob.glob(os.path.join(DEPLOY, "examples", "security", "*.yaml"))):
        r = subprocess.run([os.path.join(BIN, "kubernetes-validate"), "--strict", "--quiet", "-k", KUBE_VERSION, path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"kubernetes-validate {os.path.relpath(path, ROOT)}: {(r.stdout + r.stderr).strip()[:3000]}")
        else:
            print(f"ok   kubernetes-validate {KUBE_VERSION} --strict {os.path.relpath(path, ROOT)}")

def field_refs(node):
    """Every env[].valueFrom.fieldRef in a manifest, wherever it sits."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "fieldRef" and isinstance(v, dict): yield v
            else: yield from field_refs(v)
    elif isinstance(node, list):
        for v in node: yield from field_refs(v)

def containers(objs, kind):
    return [(o, c) for o in objs if o["kind"] == kind for c in o["spec"]["template"]["spec"]["containers"]]

def policies(name, objs):
    kinds = [o["kind"] for o in objs]
    crds = [o for o in objs if o["kind"] == "CustomResourceDefinition"]
    if name != "helm-options":
        if len(crds) != 10: fail(f"{name}: {len(crds)} CRDs, want MetalLB's 9 and BGPSessionState")
        for c in crds:
            for v in c["spec"]["versions"]:
                if v.get("subresources", {}).get("status") != {}: fail(f"{name}: {c['metadata']['name']} {v['name']} has no status subresource")
                if "openAPIV3Schema" not in v.get("schema", {}): fail(f"{name}: {c['metadata']['name']} {v['name']} has no schema")
            if sum(1 for v in c["spec"]["versions"] if v["storage"]) != 1: fail(f"{name}: {c['metadata']['name']} needs one storage version")
    # The API server fills in fieldRef.apiVersion; a manifest without it conflicts with itself under server-side
    # apply after a client-side install (the field then has two managers).
    for o in objs:
        for ref in field_refs(o):
            if ref.get("apiVersion") != "v1": fail(f"{name}: {o['kind']} {o['metadata']['name']}: fieldRef {ref} lacks apiVersion: v1")
    for ns in (o for o in objs if o["kind"] == "Namespace"):
        if ns["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") != "privileged":
            fail(f"{name}: namespace {ns['metadata']['name']} lacks pod-security.kubernetes.io/enforce=privileged")
    for o in objs:
        if o["kind"] in ("Role", "ClusterRole"):
            for rule in o.get("rules", []):
                if "*" in rule.get("verbs", []) and rule.get("apiGroups") != ["metallb.io"]:
                    fail(f"{name}: {o['kind']} {o['metadata']['name']} has a wildcard verb outside metallb.io: {rule}")
                if "*" in rule.get("resources", []) or "*" in rule.get("apiGroups", []):
                    fail(f"{name}: {o['kind']} {o['metadata']['name']} has a wildcard resource or group: {rule}")
    ctrl = containers(objs, "Deployment")
    spk = containers(objs, "DaemonSet")
    if len(ctrl) != 1 or len(spk) != 1:
        fail(f"{name}: want one controller and one speaker container, got {len(ctrl)} and {len(spk)}")
        return
    (dep, c), (ds, s) = ctrl[0], spk[0]
    pod = dep["spec"]["template"]["spec"]
    sc = c.get("securityContext", {})
    if not pod.get("securityContext", {}).get("runAsNonRoot"): fail(f"{name}: controller pod is not runAsNonRoot")
    if not sc.get("readOnlyRootFilesystem"): fail(f"{name}: controller root filesystem is writable")
    if sc.get("allowPrivilegeEscalation") is not False: fail(f"{name}: controller allows privilege escalation")
    if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"): fail(f"{name}: controller keeps capabilities")
    for probe in ("livenessProbe", "readinessProbe"):
        for who, cc in (("controller", c), ("speaker", s)):
            if probe not in cc: fail(f"{name}: {who} has no {probe}")
    for who, cc in (("controller", c), ("speaker", s)):
        if "memory" not in cc.get("resources", {}).get("limits", {}) or "cpu" not in cc.get("resources", {}).get("requests", {}):
            fail(f"{name}: {who} lacks resource requests/limits")
    replicas = dep["spec"].get("replicas", 1)
    if (replicas > 1) != ("--leader-elect" in c.get("args", [])):
        fail(f"{name}: controller has {replicas} replicas but --leader-elect is {'absent' if replicas > 1 else 'present'}")
    spod = ds["spec"]["template"]["spec"]
    ssc = s.get("securityContext", {})
    if not spod.get("hostNetwork"): fail(f"{name}: speaker is not hostNetwork")
    if ssc.get("capabilities", {}).get("drop") != ["ALL"] or sorted(ssc.get("capabilities", {}).get("add", [])) != ["NET_RAW"]:
        fail(f"{name}: speaker capabilities are {ssc.get('capabilities')}, want drop ALL, add only NET_RAW")
    if not ssc.get("readOnlyRootFilesystem") or ssc.get("allowPrivilegeEscalation") is not False or ssc.get("privileged"):
        fail(f"{name}: speaker container is not locked down: {ssc}")
    tolerated = {t.get("key") for t in spod.get("tolerations", [])}
    if "node-role.kubernetes.io/control-plane" not in tolerated: fail(f"{name}: speaker does not tolerate control-plane nodes")
    env = {e["name"]: e for e in s.get("env", [])}
    if env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "spec.nodeName":
        fail(f"{name}: speaker NODE_NAME does not come from spec.nodeName")
    membership = "--ml-disabled" not in s.get("args", [])
    if membership:
        mounts = {m["mountPath"]: m["name"] for m in s.get("volumeMounts", [])}
        vols = {v["name"]: v for v in spod.get("volumes", [])}
        path = env.get("METALLB_ML_SECRET_KEY_PATH", {}).get("value")
        if path not in mounts or "secret" not in vols.get(mounts[path], {}):
            fail(f"{name}: speaker does not mount the memberlist Secret at METALLB_ML_SECRET_KEY_PATH")
    services = [o for o in objs if o["kind"] == "Service"]
    if len(services) != 2: fail(f"{name}: want 2 metrics Services, got {len(services)}")
    print(f"ok   policies {name}: {len(objs)} objects ({', '.join(sorted(set(kinds)))})")

def closed(schema):
    """Kubernetes strict field validation: an object schema with properties refuses unknown fields."""
    s = copy.deepcopy(schema)
    def walk(n):
        if isinstance(n, dict):
            if n.get("type") == "object" and "properties" in n and "additionalProperties" not in n \
               and not n.get("x-kubernetes-preserve-unknown-fields"):
                n["additionalProperties"] = False
            for v in n.values(): walk(v)
        elif isinstance(n, list):
            for v in n: walk(v)
    walk(s)
    return s

def crd_schemas():
    out = {}
    for path in glob.glob(os.path.join(DEPLOY, "base", "crds", "*.yaml")):
        crd = docs(open(path).read())[0]
        for v in crd["spec"]["versions"]:
            out[(f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])] = closed(v["schema"]["openAPIV3Schema"])
    return out

def schema_cases():
    schemas = crd_schemas()
    def errors(o):
        schema = schemas.get((o["apiVersion"], o["kind"]))
        if schema is None: return [f"no CRD serves {o['apiVersion']} {o['kind']}"]
        v = jsonschema.Draft7Validator(schema)
        return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(o)]
    fixtures = os.path.join(ROOT, "Tests", "DeployTests", "Fixtures")
    accepted = 0
    for path in [os.path.join(fixtures, "crd-accept.yaml")] + sorted(glob.glob(os.path.join(DEPLOY, "examples", "*.yaml"))):
        for o in docs(open(path).read()):
            errs = errors(o)
            if errs: fail(f"{os.path.relpath(path, ROOT)}: {o['kind']} {o['metadata']['name']} refused: {errs}")
            else: accepted += 1
    rejected = 0
    for o in docs(open(os.path.join(fixtures, "crd-reject.yaml")).read()):
        expect = o["metadata"].pop("annotations")["expect"]
        errs = errors(o)
        if not errs: fail(f"crd-reject.yaml: {o['kind']} {o['metadata']['name']} was accepted")
        elif not any(expect in e for e in errs): fail(f"crd-reject.yaml: {o['kind']} {o['metadata']['name']}: no error names {expect!r}: {errs}")
        else: rejected += 1
    print(f"ok   CRD schemas: {accepted} MetalLB examples accepted, {rejected} malformed objects refused naming the culprit")

def generated_in_sync():
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, os.path.join(DEPLOY, "tools", "gen-crds.py"), tmp])
        for path in glob.glob(os.path.join(tmp, "*.yaml")):
            committed = os.path.join(DEPLOY, "base", "crds", os.path.basename(path))
            if not os.path.exists(committed) or open(committed).read() != open(path).read():
                fail(f"{os.path.relpath(committed, ROOT)} differs from gen-crds.py's output; run: python3 deploy/tools/gen-crds.py deploy/base/crds")
    print("ok   deploy/base/crds is gen-crds.py's output")

MONITORING = os.path.join(DEPLOY, "monitoring")

def known_metrics():
    """The metric names the daemons expose, read from the sources: full-name literals, the BGP family's
    `metallb_bgp_` + g("...")/c("...") names, the pool gauges' `metallb_allocator_` + names, and histogram series."""
    import re
    names = set()
    for path in glob.glob(os.path.join(ROOT, "Sources", "**", "*.swift"), recursive=True):
        text = open(path).read()
        names.update(re.findall(r'"((?:metallb|beacon)_[a-z0-9_]*[a-z0-9])"', text))
        if path.endswith("BGPMetrics.swift"):
            names.update("metallb_bgp_" + n for n in re.findall(r'\b[cg]\("([a-z_]+)"\)', text))
        if path.endswith("ControllerMetrics.swift"):
            block = re.search(r"static let names = \[(.*?)\]", text, re.S)
            names.update("metallb_allocator_" + n for n in re.findall(r'"([a-z0-9_]+)"', block.group(1)))
    return names | {n + s for n in names for s in ("_bucket", "_sum", "_count")}

def monitoring():
    """The alerts and the dashboard: promtool checks and unit-tests the rules (each alert fires once and stays
    silent once); the PrometheusRule of deploy/monitoring and of the Helm chart carry exactly the rule file's groups;
    every metric the rules and the dashboard query is one the daemons expose."""
    import json, re
    rules = os.path.join(MONITORING, "beacon-rules.yaml")
    for cmd in (["promtool", "check", "rules", rules], ["promtool", "test", "rules", os.path.join(MONITORING, "beacon-rules.test.yaml")]):
        run(cmd)
    groups = yaml.safe_load(open(rules))["groups"]
    helm = [os.path.join(BIN, "helm"), "template", "beacon", os.path.join(DEPLOY, "helm", "beacon"), "-n", "metallb-system",
            "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true"]
    for name, text in (("kustomize deploy/monitoring", run(["kubectl", "kustomize", MONITORING])), ("helm", run(helm))):
        objs = docs(text)
        rule = [o for o in objs if o.get("kind") == "PrometheusRule"]
        if len(rule) != 1 or rule[0]["spec"]["groups"] != groups:
            fail(f"{name}: the PrometheusRule's groups differ from deploy/monitoring/beacon-rules.yaml")
        boards = [o for o in objs if o.get("kind") == "ConfigMap" and "grafana-dashboard.json" in o.get("data", {})]
        if len(boards) != 1 or json.loads(boards[0]["data"]["grafana-dashboard.json"]) != json.load(open(os.path.join(MONITORING, "grafana-dashboard.json"))):
            fail(f"{name}: no ConfigMap with deploy/monitoring/grafana-dashboard.json")
    known = known_metrics()
    dashboard = json.load(open(os.path.join(MONITORING, "grafana-dashboard.json")))
    queries = [r["expr"] for r in groups[0]["rules"]] + [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for q in queries:
        for metric in re.findall(r"\b((?:metallb|beacon)_[a-z0-9_]+)", q):
            if metric not in known:
                fail(f"monitoring: {metric} (in {q!r}) is not a metric the daemons expose")
    print(f"ok   monitoring: {len(groups[0]['rules'])} alerts tested by promtool, {len(dashboard['panels'])} dashboard panels, {len(queries)} queries on known metrics")

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(ROOT, ".build", "deploy-check"))
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    generated_in_sync()
    rendered = render(a.out)
    validate(a.out, rendered)
    for name, text in rendered.items():
        policies(name, docs(text))
    schema_cases()
    monitoring()
    if failures:
        print(f"{len(failures)} deploy check(s) failed")
        return 1
    print(f"deploy checks passed; rendered manifests in {os.path.relpath(a.out, ROOT)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())

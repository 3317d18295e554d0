"""Writes deploy/base/crds/*.yaml: MetalLB's nine CRDs and FRR-K8s's BGPSessionState with complete OpenAPI v3 schemas.

Usage: python3 deploy/tools/gen-crds.py deploy/base/crds
The schemas carry MetalLB's field validation (ranges, enums, required fields, CEL rules); `make test` checks that the
committed files are this script's output.
"""
import yaml, sys, os
out = sys.argv[1]

def S(desc=None, **kw):
    d = {}
    if desc: d["description"] = desc
    d.update(kw)
    return d

def string(desc, **kw): return S(desc, type="string", **kw)
def boolean(desc, **kw): return S(desc, type="boolean", **kw)
def integer(desc, fmt="int32", **kw): return S(desc, type="integer", format=fmt, **kw)
def strings(desc, **kw): return S(desc, type="array", items={"type": "string"}, **kw)

def label_selector(desc):
    return S(desc, type="object", properties={
        "matchExpressions": S("A list of label selector requirements; the requirements are ANDed.", type="array",
            items=S("A selector that contains values, a key, and an operator that relates the key and values.", type="object",
                properties={
                    "key": string("The label key that the selector applies to."),
                    "operator": string("The key's relationship to a set of values: In, NotIn, Exists or DoesNotExist.",
                                       enum=["In", "NotIn", "Exists", "DoesNotExist"]),
                    "values": strings("The values for In and NotIn (non-empty); empty for Exists and DoesNotExist.",
                                      **{"x-kubernetes-list-type": "atomic"}),
                }, required=["key", "operator"]),
            **{"x-kubernetes-list-type": "atomic"}),
        "matchLabels": S("A map of {key,value} pairs; each is equivalent to a matchExpressions element with operator In.",
                         type="object", additionalProperties={"type": "string"}),
    }, **{"x-kubernetes-map-type": "atomic"})

def selectors(desc):
    return S(desc, type="array", items=label_selector("A label selector."))

def status_obj(desc="Observed state; Beacon leaves it empty."):
    return S(desc, type="object")

def crd(kind, plural, versions, short=None, group="metallb.io"):
    spec = {"group": group, "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced", "versions": versions}
    if len(versions) > 1:
        # MetalLB converts BGPPeer v1beta1 <-> v1beta2 with a webhook; v1beta2 is a superset, so no conversion is
        # needed. Said explicitly so applying over MetalLB's CRD drops its webhook (which would fail once gone).
        spec["conversion"] = {"strategy": "None"}
    if short: spec["names"]["shortNames"] = short
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}", "labels": {"app.kubernetes.io/part-of": "beacon"}},
            "spec": spec}

def version(name, schema, columns, storage=True, deprecated=None, desc=""):
    v = {"name": name, "served": True, "storage": storage}
    if deprecated:
        v["deprecated"] = True
        v["deprecationWarning"] = deprecated
    v["schema"] = {"openAPIV3Schema": S(desc, type="object", properties={
        "apiVersion": string("APIVersion defines the versioned schema of this representation of an object."),
        "kind": string("Kind is a string value representing the REST resource this object represents."),
        "metadata": {"type": "object"},
        **schema})}
    v["subresources"] = {"status": {}}
    v["additionalPrinterColumns"] = [dict(name=n, type=t, jsonPath=p, **({"priority": pr} if pr else {})) for (n, t, p, pr) in columns] + \
        [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    return v

crds = {}

# IPAddressPool
crds["ipaddresspools"] = crd("IPAddressPool", "ipaddresspools", [version("v1beta1", {
    "spec": S("The addresses Beacon may hand out, and to which Services.", type="object", required=["addresses"], properties={
        "addresses": strings("Ranges of addresses: CIDRs (192.0.2.0/24, 2001:db8::/64) or ranges (192.0.2.10-192.0.2.20).",
                             minItems=1),
        "autoAssign": boolean("Hand out addresses from this pool to Services that do not ask for one explicitly.", default=True),
        "avoidBuggyIPs": boolean("Skip IPv4 addresses ending in .0 or .255.", default=False),
        "serviceAllocation": S("Which Services this pool serves, and its priority among pools.", type="object", properties={
            "priority": integer("Lower numbers are tried first; 0 (unset) sorts last."),
            "namespaces": strings("Serve only Services in these namespaces."),
            "namespaceSelectors": selectors("Serve only Services in namespaces matching these selectors."),
            "serviceSelectors": selectors("Serve only Services matching these selectors."),
        }),
    }),
    "status": S("Address usage, written by the controller.", type="object", required=["assignedIPv4", "assignedIPv6", "availableIPv4", "availableIPv6"], properties={
        "assignedIPv4": integer("IPv4 addresses in use.", "int64"),
        "assignedIPv6": integer("IPv6 addresses in use.", "int64"),
        "availableIPv4": integer("IPv4 addresses left.", "int64"),
        "availableIPv6": integer("IPv6 addresses left.", "int64"),
    }),
}, [("Auto Assign", "boolean", ".spec.autoAssign", 0), ("Avoid Buggy IPs", "boolean", ".spec.avoidBuggyIPs", 0),
    ("Addresses", "string", ".spec.addresses", 0)], desc="IPAddressPool is a set of addresses Beacon assigns to LoadBalancer Services.")])

# L2Advertisement
crds["l2advertisements"] = crd("L2Advertisement", "l2advertisements", [version("v1beta1", {
    "spec": S("Which pools are announced with ARP/NDP, from which nodes and interfaces.", type="object", properties={
        "ipAddressPools": strings("Pools to announce, by name. With neither this nor ipAddressPoolSelectors, every pool."),
        "ipAddressPoolSelectors": selectors("Pools to announce, by label."),
        "nodeSelectors": selectors("Nodes that may announce; empty means every node."),
        "interfaces": strings("Interfaces to answer on; empty means every interface."),
        "serviceSelectors": selectors("Services to announce; empty means every Service with an address from the pools."),
        "preferredNodeSelectors": S("Nodes preferred as owners: the highest total weight wins before the hash ranking.",
            type="array", items=S(None, type="object", required=["weight", "preference"], properties={
                "weight": integer("Weight of this preference, 1-100.", minimum=1, maximum=100),
                "preference": label_selector("Nodes this preference applies to."),
            })),
    }),
    "status": status_obj(),
}, [("IPAddressPools", "string", ".spec.ipAddressPools", 0), ("IPAddressPool Selectors", "string", ".spec.ipAddressPoolSelectors", 0),
    ("Interfaces", "string", ".spec.interfaces", 0), ("Node Selectors", "string", ".spec.nodeSelectors", 10)],
    desc="L2Advertisement announces pools with ARP (IPv4) and NDP (IPv6) from one elected node per address.")])

# BGPAdvertisement
crds["bgpadvertisements"] = crd("BGPAdvertisement", "bgpadvertisements", [version("v1beta1", {
    "spec": S("Which pools are advertised over BGP, how, to which peers, from which nodes.", type="object", properties={
        "aggregationLength": integer("Prefix length of the advertised IPv4 route; shorter lengths aggregate addresses.",
                                     default=32, minimum=1, maximum=32),
        "aggregationLengthV6": integer("Prefix length of the advertised IPv6 route.", default=128, minimum=1, maximum=128),
        "localPref": integer("LOCAL_PREF of the routes (iBGP sessions only).", "int64", minimum=0, maximum=4294967295),
        "communities": strings("Communities attached to the routes: A:B, large:X:Y:Z, or the name of a Community alias."),
        "ipAddressPools": strings("Pools to advertise, by name. With neither this nor ipAddressPoolSelectors, every pool."),
        "ipAddressPoolSelectors": selectors("Pools to advertise, by label."),
        "nodeSelectors": selectors("Nodes that advertise; empty means every node."),
        "peers": strings("BGPPeer names to advertise to; empty means every peer."),
        "serviceSelectors": selectors("Services to advertise (only with the default aggregation lengths)."),
    }),
    "status": status_obj(),
}, [("IPAddressPools", "string", ".spec.ipAddressPools", 0), ("IPAddressPool Selectors", "string", ".spec.ipAddressPoolSelectors", 0),
    ("Peers", "string", ".spec.peers", 0), ("Node Selectors", "string", ".spec.nodeSelectors", 10)],
    desc="BGPAdvertisement advertises pools as routes to BGP peers from every eligible node.")])

# BGPPeer
duration = "A duration such as 90s or 1m30s."
peer_common = {
    "myASN": integer("AS number of the speakers.", "int64", minimum=0, maximum=4294967295),
    "peerASN": integer("AS number of the peer.", "int64", minimum=0, maximum=4294967295),
    "peerAddress": string("Address of the peer."),
    "sourceAddress": string("Source address of the session (default: chosen by the kernel)."),
    "peerPort": integer("TCP port of the peer.", default=179, minimum=1, maximum=16384),
    "holdTime": string("Hold time. " + duration + " 0 or at least 3s; keepaliveTime defaults to a third of it."),
    "keepaliveTime": string("Keepalive interval. " + duration + " At most holdTime."),
    "routerID": string("BGP router ID (an IPv4 address; default: the node's address)."),
    "password": string("TCP MD5 password (RFC 2385)."),
    "bfdProfile": string("Name of the BFDProfile to run on the session."),
    "ebgpMultiHop": boolean("The peer is more than one hop away (eBGP only)."),
    "vrf": string("VRF to open the session in."),
}
peer_v1b2 = dict(peer_common)
peer_v1b2.update({
    "dynamicASN": string("The peer's AS relative to myASN, instead of peerASN.", enum=["internal", "external"]),
    "localASN": integer("Deprecated local AS override.", "int64", minimum=0, maximum=4294967295),
    "interface": string("Unnumbered session on this interface (IPv6 link-local), instead of peerAddress."),
    "connectTime": S("Time between connection attempts. " + duration, type="string",
        **{"x-kubernetes-validations": [{"rule": "duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535",
                                          "message": "connect time should be between 1 second to 65535"},
                                         {"rule": "duration(self).getMilliseconds() % 1000 == 0",
                                          "message": "connect time should contain a whole number of seconds"}]}),
    "passwordSecret": S("A kubernetes.io/basic-auth Secret in Beacon's namespace whose `password` key is the TCP MD5 password.",
        type="object", properties={"name": string("Name of the Secret."), "namespace": string("Namespace of the Secret.")},
        **{"x-kubernetes-map-type": "atomic"}),
    "enableGracefulRestart": S("Advertise the graceful restart capability (RFC 4724). Cannot be changed after creation.",
        type="boolean", **{"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "EnableGracefulRestart cannot be changed after creation"}]}),
    "disableMP": boolean("Deprecated; has no effect.", default=False),
    "dualStackAddressFamily": boolean("Negotiate both IPv4 and IPv6 unicast on the session.", default=False),
    "nodeSelectors": selectors("Nodes that open this session; empty means every node."),
})
peer_v1b1 = dict(peer_common)
peer_v1b1["nodeSelectors"] = S("Nodes that open this session; empty means every node.", type="array", items=S(None, type="object", properties={
    "matchLabels": S(None, type="object", additionalProperties={"type": "string"}),
    "matchExpressions": S(None, type="array", items=S(None, type="object", required=["key", "operator", "values"], properties={
        "key": {"type": "string"}, "operator": {"type": "string"}, "values": S(None, type="array", items={"type": "string"}, minItems=1)}))}))
peer_cols = [("Address", "string", ".spec.peerAddress", 0), ("ASN", "string", ".spec.peerASN", 0),
             ("BFD Profile", "string", ".spec.bfdProfile", 0), ("Multi Hops", "string", ".spec.ebgpMultiHop", 0)]
crds["bgppeers"] = crd("BGPPeer", "bgppeers", [
    version("v1beta1", {"spec": S("A BGP session the speakers open.", type="object", required=["myASN", "peerASN", "peerAddress"], properties=peer_v1b1),
                        "status": status_obj()}, peer_cols, storage=False,
            deprecated="metallb.io v1beta1 BGPPeer is deprecated, consider using v1beta2", desc="BGPPeer (v1beta1, deprecated)."),
    version("v1beta2", {"spec": S("A BGP session the speakers open.", type="object", required=["myASN"], properties=peer_v1b2),
                        "status": status_obj()}, peer_cols, desc="BGPPeer is a BGP session the speakers of the selected nodes open."),
])

# Community
crds["communities"] = crd("Community", "communities", [version("v1beta1", {
    "spec": S("Named community values for BGPAdvertisements.", type="object", properties={
        "communities": S(None, type="array", items=S(None, type="object", properties={
            "name": string("The alias, used in BGPAdvertisement.spec.communities."),
            "value": string("A:B (16-bit each) or large:X:Y:Z (32-bit each)."),
        })),
    }),
    "status": status_obj(),
}, [], desc="Community holds aliases for BGP community values.")])

# BFDProfile
ms = lambda d, lo, hi, dflt=None: integer(d, minimum=lo, maximum=hi, **({"default": dflt} if dflt is not None else {}))
crds["bfdprofiles"] = crd("BFDProfile", "bfdprofiles", [version("v1beta1", {
    "spec": S("BFD session parameters.", type="object", properties={
        "receiveInterval": ms("Minimum interval between received control packets, in milliseconds.", 10, 60000),
        "transmitInterval": ms("Minimum interval between sent control packets, in milliseconds.", 10, 60000),
        "detectMultiplier": ms("Lost packets before the session is down.", 2, 255),
        "echoInterval": ms("Minimum interval between echo packets, in milliseconds.", 10, 60000),
        "echoMode": boolean("Send echo packets."),
        "passiveMode": boolean("Wait for the peer to start the session."),
        "minimumTtl": ms("Minimum TTL of incoming control packets (multi-hop).", 1, 254),
    }),
    "status": status_obj(),
}, [("Passive Mode", "boolean", ".spec.passiveMode", 0), ("Transmit Interval", "integer", ".spec.transmitInterval", 0),
    ("Receive Interval", "integer", ".spec.receiveInterval", 0), ("Multiplier", "integer", ".spec.detectMultiplier", 0)],
    desc="BFDProfile holds BFD parameters for BGPPeers.")])

# Status kinds
svc_status = lambda extra: S("Where the Service is announced, written by the speaker.", type="object", properties={
    "node": S("The announcing node.", type="string", **{"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}]}),
    "serviceName": S("The Service's name.", type="string", **{"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}]}),
    "serviceNamespace": S("The Service's namespace.", type="string", **{"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "Value is immutable"}]}),
    **extra})
crds["servicel2statuses"] = crd("ServiceL2Status", "servicel2statuses", [version("v1beta1", {
    "spec": S("Empty.", type="object"),
    "status": svc_status({"interfaces": S("Interfaces the node answers on.", type="array",
        items=S(None, type="object", required=["name"], properties={"name": string("Interface name.")}))}),
}, [("Allocated Node", "string", ".status.node", 0), ("Service Name", "string", ".status.serviceName", 0),
    ("Service Namespace", "string", ".status.serviceNamespace", 0)], desc="ServiceL2Status says which node answers ARP/NDP for a Service.")])
crds["servicebgpstatuses"] = crd("ServiceBGPStatus", "servicebgpstatuses", [version("v1beta1", {
    "spec": S("Empty.", type="object"),
    "status": svc_status({"peers": strings("The configured BGPPeers the node advertises the Service to.")}),
}, [("Node", "string", ".status.node", 0), ("Service Name", "string", ".status.serviceName", 0),
    ("Service Namespace", "string", ".status.serviceNamespace", 0)], desc="ServiceBGPStatus says which peers a node advertises a Service to.")])
crds["configurationstates"] = crd("ConfigurationState", "configurationstates", [version("v1beta1", {
    "spec": S("Empty.", type="object"),
    "status": S("The result of the last configuration load by one component.", type="object", properties={
        "result": string("Valid, Invalid or Unknown.", enum=["Valid", "Invalid", "Unknown"]),
        "errorSummary": string("The errors of the last load, empty when Valid."),
        "conditions": S("Conditions of the component's reconcilers.", type="array", items=S(None, type="object",
            required=["lastTransitionTime", "message", "reason", "status", "type"], properties={
                "type": string("Condition type, e.g. configReconcilerValid.", maxLength=316),
                "status": string("True, False or Unknown.", enum=["True", "False", "Unknown"]),
                "reason": string("ConfigurationError, Reconciled or UnknownError.", maxLength=1024, minLength=1),
                "message": string("Details.", maxLength=32768),
                "lastTransitionTime": string("When the status last changed.", format="date-time"),
                "observedGeneration": integer("The generation the condition was set for.", "int64", minimum=0),
            }), **{"x-kubernetes-list-map-keys": ["type"], "x-kubernetes-list-type": "map"}),
    }),
}, [("Result", "string", ".status.result", 0), ("Last Error", "string", ".status.errorSummary", 0)],
    desc="ConfigurationState reports whether a component accepted the configuration.")])

# FRR-K8s's session state (what MetalLB's FRR-K8s mode reports per node and peer), same group, kind, fields and
# columns; `lastError` is Beacon's addition.
crds["bgpsessionstates"] = crd("BGPSessionState", "bgpsessionstates", [version("v1beta1", {
    "spec": S("Empty.", type="object"),
    "status": S("The state of one BGP session of one node.", type="object", properties={
        "bgpStatus": string("The BGP session's state: Idle, Connect, OpenSent, OpenConfirm or Established."),
        "bfdStatus": string("The BFD session's state (Up, Down, Init, AdminDown), or N/A without a BFD profile."),
        "node": string("The node the session runs on."),
        "peer": string("The peer's address."),
        "vrf": string("The VRF; empty for the default table."),
        "lastError": string("Beacon: why the session is down or last went down, as the speaker saw it."),
    }),
}, [("Node", "string", ".status.node", 0), ("Peer", "string", ".status.peer", 0), ("VRF", "string", ".status.vrf", 0),
    ("BGP", "string", ".status.bgpStatus", 0), ("BFD", "string", ".status.bfdStatus", 0)],
    desc="BGPSessionState exposes the state of a BGP session of a node (FRR-K8s's kind).")], group="frrk8s.metallb.io")

class D(yaml.SafeDumper): pass
D.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s))
for name, obj in crds.items():
    group = obj["spec"]["group"]
    what = "MetalLB's CRD, served unchanged for Beacon" if group == "metallb.io" else "FRR-K8s's CRD, with Beacon's lastError"
    with open(os.path.join(out, f"{group}_{name}.yaml"), "w") as f:
        f.write(f"# {name}.{group}: {what}. Generated by deploy/tools/gen-crds.py; edit that.\n")
        yaml.dump(obj, f, Dumper=D, sort_keys=False, default_flow_style=False, width=120)
print(len(crds))

import KubernetesModel
import Testing
import NetworkPrimitives
@testable import AddressAllocator

private let small = pools(poolYAML("a", ["10.0.0.0/30"]))
private let dual = pools(poolYAML("d", ["10.0.1.0/30", "2001:db8::/126"]))

let scenarios: [Scenario] = [
    .init(name: "sequential allocation, exhaustion, release and reuse of the lowest address", steps: [
        .config(small),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .alloc(req("s2"), "a: 10.0.0.1"),
        .alloc(req("s3"), "a: 10.0.0.2"),
        .alloc(req("s4"), "a: 10.0.0.3"),
        .alloc(req("s5"), "error: no available IPs (pool \"a\" is full)"),
        .stats("a", "v4 4/4 v6 0/0"),
        .release("default/s2"),
        .stats("a", "v4 3/4 v6 0/0"),
        .alloc(req("s5"), "a: 10.0.0.1"),
        .release("default/s1"), .release("default/s3"),
        .alloc(req("s6"), "a: 10.0.0.0"),
        .alloc(req("s7"), "a: 10.0.0.2"),
        .alloc(req("s8"), "error: no available IPs (pool \"a\" is full)"),
    ]),
    .init(name: "no available IPs says what each pool lacks", steps: [
        .config(pools(poolYAML("manual", ["10.0.2.0/30"], "autoAssign: false"))),
        .alloc(req("s1"), "error: no available IPs (pool \"manual\" has autoAssign: false and must be requested (metallb.io/address-pool))"),
        .config(pools(poolYAML("v4", ["10.0.3.0/30"]))),
        .alloc(req("s2", families: .singleStack(.ipv6)), "error: no available IPs (pool \"v4\" has no IPv6 addresses)"),
    ]),
    .init(name: "re-allocating a Service is a no-op", steps: [
        .config(small),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .alloc(req("s2"), "a: 10.0.0.1"),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .stats("a", "v4 2/4 v6 0/0"),
    ]),
    .init(name: "the first address of a /24 is .0 unless avoidBuggyIPs", steps: [
        .config(pools(poolYAML("plain", ["192.0.2.0/24"]), poolYAML("careful", ["198.51.100.0/24"], "avoidBuggyIPs: true"))),
        .alloc(req("s1", pool: "plain"), "plain: 192.0.2.0"),
        .alloc(req("s2", pool: "careful"), "careful: 198.51.100.1"),
        .alloc(req("s3", ips: ["198.51.100.255"]), "error: [\"198.51.100.255\"] is not allowed in config"),
        .alloc(req("s4", ips: ["198.51.100.0"]), "error: [\"198.51.100.0\"] is not allowed in config"),
        .alloc(req("s5", ips: ["192.0.2.255"]), "plain: 192.0.2.255"),
        .stats("careful", "v4 1/254 v6 0/0"),
        .stats("plain", "v4 2/256 v6 0/0"),
    ]),
    .init(name: "avoidBuggyIPs across /24 boundaries skips .255 and .0", steps: [
        .config(pools(poolYAML("p", ["10.0.0.253-10.0.1.2"], "avoidBuggyIPs: true"))),
        .alloc(req("s1"), "p: 10.0.0.253"),
        .alloc(req("s2"), "p: 10.0.0.254"),
        .alloc(req("s3"), "p: 10.0.1.1"),
        .alloc(req("s4"), "p: 10.0.1.2"),
        .alloc(req("s5"), "error: no available IPs (pool \"p\" is full)"),
        .stats("p", "v4 4/4 v6 0/0"),
    ]),
    .init(name: "autoAssign false pools serve only explicit requests", steps: [
        .config(pools(poolYAML("manual", ["10.0.0.0/30"], "autoAssign: false"), poolYAML("auto", ["10.0.1.0/31"]))),
        .alloc(req("s1"), "auto: 10.0.1.0"),
        .alloc(req("s2"), "auto: 10.0.1.1"),
        .alloc(req("s3"), "error: no available IPs (pool \"auto\" is full; pool \"manual\" has autoAssign: false and must be requested (metallb.io/address-pool))"),
        .alloc(req("s4", pool: "manual"), "manual: 10.0.0.0"),
        .alloc(req("s5", ips: ["10.0.0.3"]), "manual: 10.0.0.3"),
        .alloc(req("s6", ips: ["10.0.0.2"], pool: "manual"), "manual: 10.0.0.2"),
    ]),
    .init(name: "requested addresses outside the configuration, in the wrong pool, or taken", steps: [
        .config(pools(poolYAML("a", ["10.0.0.0/30"]), poolYAML("b", ["10.0.1.0/30"]))),
        .alloc(req("s1", ips: ["198.51.100.1"]), "error: [\"198.51.100.1\"] is not allowed in config"),
        .alloc(req("s2", ips: ["10.0.0.1"], pool: "b"), "error: requested loadBalancer IP(s) [\"10.0.0.1\"] is not compatible with requested address pool b"),
        .alloc(req("s3", ips: ["10.0.0.1"]), "a: 10.0.0.1"),
        .alloc(req("s4", ips: ["10.0.0.1"]), "error: can't change sharing key for \"default/s4\", address also in use by default/s3 (existing service does not allow sharing)"),
        .alloc(req("s5", pool: "nope"), "error: unknown pool \"nope\""),
        .alloc(req("s6", ips: ["10.0.0.2", "10.0.1.2"]), "error: at most one address per family can be requested, got [\"10.0.0.2\" \"10.0.1.2\"]"),
        .alloc(req("s7", ips: ["10.0.0.2", "2001:db8::1"]), "error: [\"10.0.0.2\" \"2001:db8::1\"] is not allowed in config"),
    ]),
    .init(name: "a pool named by annotation is exhausted", steps: [
        .config(pools(poolYAML("a", ["10.0.0.0/31"]), poolYAML("b", ["10.0.1.0/30"]))),
        .alloc(req("s1", pool: "a"), "a: 10.0.0.0"),
        .alloc(req("s2", pool: "a"), "a: 10.0.0.1"),
        .alloc(req("s3", pool: "a"), "error: no available IPs in pool \"a\""),
        .alloc(req("s4"), "b: 10.0.1.0"),
        .release("default/s1"),
        .alloc(req("s3", pool: "a"), "a: 10.0.0.0"),
    ]),
    .init(name: "scoped pools by priority, unset priority last, unscoped pools as fallback", steps: [
        .config(pools(poolYAML("fallback", ["10.9.0.0/30"]),
                      poolYAML("p10", ["10.0.10.0/31"], "serviceAllocation: {priority: 10, namespaces: [team]}"),
                      poolYAML("p5", ["10.0.5.0/31"], "serviceAllocation: {priority: 5, namespaces: [team]}"),
                      poolYAML("p0", ["10.0.0.0/31"], "serviceAllocation: {namespaces: [team]}"))),
        .alloc(req("s1", ns: "team"), "p5: 10.0.5.0"),
        .alloc(req("s2", ns: "team"), "p5: 10.0.5.1"),
        .alloc(req("s3", ns: "team"), "p10: 10.0.10.0"),
        .alloc(req("s4", ns: "team"), "p10: 10.0.10.1"),
        .alloc(req("s5", ns: "team"), "p0: 10.0.0.0"),
        .alloc(req("s6", ns: "team"), "p0: 10.0.0.1"),
        .alloc(req("s7", ns: "team"), "fallback: 10.9.0.0"),
        .alloc(req("s8", ns: "other"), "fallback: 10.9.0.1"),
        .alloc(req("s9", ns: "other", pool: "p5"), "error: pool p5 not compatible for ip assignment"),
        .alloc(req("s10", ns: "other", ips: ["10.0.0.1"]), "error: pool p0 not compatible for ip assignment"),
    ]),
    .init(name: "namespace selectors and service selectors scope pools", steps: [
        .config(pools(poolYAML("fallback", ["10.9.0.0/30"]),
                      poolYAML("gold", ["10.1.0.0/30"], "serviceAllocation: {priority: 1, namespaceSelectors: [{matchLabels: {tier: gold}}]}"),
                      poolYAML("web", ["10.2.0.0/30"], "serviceAllocation: {priority: 2, serviceSelectors: [{matchExpressions: [{key: app, operator: In, values: [web]}]}]}"))),
        .alloc(req("s1", ns: "shop", nsLabels: ["tier": "gold"]), "gold: 10.1.0.0"),
        .alloc(req("s2", ns: "shop", nsLabels: ["tier": "silver"]), "fallback: 10.9.0.0"),
        .alloc(req("s3", labels: ["app": "web"]), "web: 10.2.0.0"),
        .alloc(req("s4", ns: "shop", nsLabels: ["tier": "gold"], labels: ["app": "web"]), "gold: 10.1.0.1"),
        .alloc(req("s5", labels: ["app": "db"]), "fallback: 10.9.0.1"),
        .alloc(req("s6", pool: "web", labels: ["app": "db"]), "error: pool web not compatible for ip assignment"),
    ]),
    .init(name: "a scoped autoAssign false pool is not auto-picked", steps: [
        .config(pools(poolYAML("fallback", ["10.9.0.0/30"]), poolYAML("team", ["10.1.0.0/30"], "autoAssign: false, serviceAllocation: {namespaces: [team]}"))),
        .alloc(req("s1", ns: "team"), "fallback: 10.9.0.0"),
        .alloc(req("s2", ns: "team", pool: "team"), "team: 10.1.0.0"),
    ]),
    .init(name: "sharing: same key, disjoint ports, same backends share one address", steps: [
        .config(small),
        .alloc(req("dns-tcp", share: "dns", ports: ["TCP/53"]), "a: 10.0.0.0"),
        .alloc(req("dns-udp", share: "dns", ports: ["UDP/53"]), "a: 10.0.0.0"),
        .users("10.0.0.0", ["default/dns-tcp", "default/dns-udp"]),
        .stats("a", "v4 1/4 v6 0/0"),
        .alloc(req("web", ips: ["10.0.0.0"], share: "dns", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .users("10.0.0.0", ["default/dns-tcp", "default/dns-udp", "default/web"]),
    ]),
    .init(name: "sharing refused: the same port on the address", steps: [
        .config(small),
        .alloc(req("s1", share: "k", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("s2", ips: ["10.0.0.0"], share: "k", ports: ["TCP/80"]), "error: port TCP/80 is already in use on \"10.0.0.0\""),
        .alloc(req("s3", share: "k", ports: ["TCP/80"]), "a: 10.0.0.1"),
        .alloc(req("s4", share: "k", ports: ["TCP/443"]), "a: 10.0.0.0"),
        .alloc(req("s5", share: "k", ports: ["TCP/80", "TCP/443"]), "a: 10.0.0.2"),
    ]),
    .init(name: "sharing refused: a different sharing key", steps: [
        .config(small),
        .alloc(req("s1", share: "a-key", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("s2", ips: ["10.0.0.0"], share: "b-key", ports: ["TCP/443"]),
               "error: can't change sharing key for \"default/s2\", address also in use by default/s1 (sharing key \"b-key\" does not match existing sharing key \"a-key\")"),
        .alloc(req("s3", share: "b-key", ports: ["TCP/443"]), "a: 10.0.0.1"),
    ]),
    .init(name: "sharing refused: Local and Cluster, or different Local selectors", steps: [
        .config(small),
        .alloc(req("local", share: "k", ports: ["TCP/80"], backend: "app=web"), "a: 10.0.0.0"),
        .alloc(req("cluster", ips: ["10.0.0.0"], share: "k", ports: ["TCP/81"]),
               "error: can't change sharing key for \"default/cluster\", address also in use by default/local (backend key \"\" does not match existing backend key \"app=web\": Services sharing an address need the same externalTrafficPolicy, and Local ones the same selector)"),
        .alloc(req("other-local", ips: ["10.0.0.0"], share: "k", ports: ["TCP/82"], backend: "app=db"),
               "error: can't change sharing key for \"default/other-local\", address also in use by default/local (backend key \"app=db\" does not match existing backend key \"app=web\": Services sharing an address need the same externalTrafficPolicy, and Local ones the same selector)"),
        .alloc(req("same-local", ips: ["10.0.0.0"], share: "k", ports: ["TCP/83"], backend: "app=web"), "a: 10.0.0.0"),
    ]),
    .init(name: "sharing refused: one side does not share", steps: [
        .config(small),
        .alloc(req("sharer", share: "k", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("loner", ips: ["10.0.0.0"], ports: ["TCP/81"]),
               "error: can't change sharing key for \"default/loner\", address also in use by default/sharer (new service does not allow sharing)"),
        .alloc(req("loner2", ports: ["TCP/81"]), "a: 10.0.0.1"),
        .alloc(req("sharer2", ips: ["10.0.0.1"], share: "k", ports: ["TCP/82"]),
               "error: can't change sharing key for \"default/sharer2\", address also in use by default/loner2 (existing service does not allow sharing)"),
    ]),
    .init(name: "shareable Services pack onto a lower compatible address before a free one", steps: [
        .config(small),
        .alloc(req("a1", share: "k", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("b1"), "a: 10.0.0.1"),
        .alloc(req("a2", share: "k", ports: ["TCP/443"]), "a: 10.0.0.0"),
        .alloc(req("a3", share: "k", ports: ["TCP/443"]), "a: 10.0.0.2"),
        .alloc(req("a4", share: "k", ports: ["TCP/8080"]), "a: 10.0.0.0"),
        .stats("a", "v4 3/4 v6 0/0"),
    ]),
    .init(name: "a shared address is freed only when its last user leaves", steps: [
        .config(small),
        .alloc(req("s1", share: "k", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("s2", share: "k", ports: ["TCP/81"]), "a: 10.0.0.0"),
        .release("default/s1"),
        .stats("a", "v4 1/4 v6 0/0"),
        .alloc(req("s3", share: "k", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .release("default/s2"), .release("default/s3"),
        .stats("a", "v4 0/4 v6 0/0"),
        .alloc(req("s4"), "a: 10.0.0.0"),
    ]),
    .init(name: "a sole user may change its sharing key in place", steps: [
        .config(small),
        .alloc(req("s1", share: "old", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("s1", share: "new", ports: ["TCP/80"]), "a: 10.0.0.0"),
        .alloc(req("s2", share: "new", ports: ["TCP/81"]), "a: 10.0.0.0"),
        .alloc(req("s3", share: "old", ports: ["TCP/82"]), "a: 10.0.0.1"),
    ]),
    .init(name: "RequireDualStack takes one address per family from one pool", steps: [
        .config(pools(poolYAML("v4only", ["10.0.0.0/30"]), poolYAML("d", ["10.0.1.0/30", "2001:db8::/126"]))),
        .alloc(req("s1", families: .requireDualStack), "d: 10.0.1.0,2001:db8::"),
        .alloc(req("s2", families: .requireDualStack), "d: 10.0.1.1,2001:db8::1"),
        .alloc(req("s3", families: .singleStack(.ipv6)), "d: 2001:db8::2"),
        .alloc(req("s4"), "d: 10.0.1.2"),
        .alloc(req("s5", families: .requireDualStack), "d: 10.0.1.3,2001:db8::3"),
        .alloc(req("s6", families: .requireDualStack), "error: no available IPs (pool \"d\" is full; pool \"v4only\" has no IPv4 and IPv6 addresses)"),
        .alloc(req("s7", pool: "v4only", families: .requireDualStack), "error: no available IPs in pool \"v4only\" for DualStack IPFamily"),
        .stats("d", "v4 4/4 v6 4/4"),
    ]),
    .init(name: "RequireDualStack with only single-stack pools fails", steps: [
        .config(pools(poolYAML("v4only", ["10.0.0.0/30"]), poolYAML("v6only", ["2001:db8::/126"]))),
        .alloc(req("s1", families: .requireDualStack), "error: no available IPs (pools \"v4only\", \"v6only\" have no IPv4 and IPv6 addresses)"),
        .alloc(req("s2", families: .singleStack(.ipv6)), "v6only: 2001:db8::"),
        .alloc(req("s3", ips: ["10.0.0.1", "2001:db8::1"], families: .requireDualStack), "error: requested loadBalancer IP(s) [\"10.0.0.1\" \"2001:db8::1\"] are in different pools"),
    ]),
    .init(name: "PreferDualStack falls back to its primary family, then gains the other from the same pool", steps: [
        .config(pools(poolYAML("p", ["10.0.0.0/30"]))),
        .alloc(req("s1", families: .preferDualStack(primary: .ipv4)), "p: 10.0.0.0"),
        .config(pools(poolYAML("p", ["10.0.0.0/30", "2001:db8::/126"]))),
        .alloc(req("s1", families: .preferDualStack(primary: .ipv4)), "p: 10.0.0.0,2001:db8::"),
        .alloc(req("s2", families: .preferDualStack(primary: .ipv6)), "p: 10.0.0.1,2001:db8::1"),
    ]),
    .init(name: "PreferDualStack prefers a pool that has both families", steps: [
        .config(pools(poolYAML("a-v4", ["10.0.0.0/30"]), poolYAML("b-dual", ["10.0.1.0/30", "2001:db8::/126"]))),
        .alloc(req("s1", families: .preferDualStack(primary: .ipv4)), "b-dual: 10.0.1.0,2001:db8::"),
        .alloc(req("s2"), "a-v4: 10.0.0.0"),
        .alloc(req("s3", pool: "a-v4", families: .preferDualStack(primary: .ipv6)), "error: no available IPs in pool \"a-v4\" for PreferDualStack(IPv6 first) IPFamily"),
    ]),
    .init(name: "restore before allocating keeps every existing address", steps: [
        .config(small),
        .restore(req("holder"), ["10.0.0.0"], "a: 10.0.0.0"),
        .restore(req("other"), ["10.0.0.2"], "a: 10.0.0.2"),
        .alloc(req("pending"), "a: 10.0.0.1"),
        .alloc(req("pending2"), "a: 10.0.0.3"),
        .restore(req("holder"), ["10.0.0.0"], "a: 10.0.0.0"),
        .stats("a", "v4 4/4 v6 0/0"),
    ]),
    .init(name: "restore refuses conflicts and addresses outside the configuration", steps: [
        .config(small),
        .restore(req("first"), ["10.0.0.1"], "a: 10.0.0.1"),
        .restore(req("second"), ["10.0.0.1"], "error: can't change sharing key for \"default/second\", address also in use by default/first (existing service does not allow sharing)"),
        .restore(req("gone"), ["198.51.100.7"], "error: [\"198.51.100.7\"] is not allowed in config"),
        .restore(req("moved"), ["10.0.0.2"], "a: 10.0.0.2"),
        .restore(req("moved"), ["10.0.0.3"], "a: 10.0.0.3"),
        .alloc(req("new"), "a: 10.0.0.0"),
        .alloc(req("new2"), "a: 10.0.0.2"),
        .restore(req("ns-out", ns: "x"), ["10.0.0.3"], "error: can't change sharing key for \"x/ns-out\", address also in use by default/moved (existing service does not allow sharing)"),
    ]),
    .init(name: "restore ignores autoAssign and the lowest-free rule, not scope", steps: [
        .config(pools(poolYAML("manual", ["10.0.0.0/30"], "autoAssign: false"), poolYAML("team", ["10.1.0.0/30"], "serviceAllocation: {namespaces: [team]}"))),
        .restore(req("s1"), ["10.0.0.3"], "manual: 10.0.0.3"),
        .restore(req("s2", ns: "team"), ["10.1.0.2"], "team: 10.1.0.2"),
        .restore(req("s3", ns: "other"), ["10.1.0.1"], "error: pool team not compatible for ip assignment"),
        .restore(req("s4", share: "k", ports: ["TCP/1"]), ["10.0.0.1"], "manual: 10.0.0.1"),
        .restore(req("s5", share: "k", ports: ["TCP/2"]), ["10.0.0.1"], "manual: 10.0.0.1"),
    ]),
    .init(name: "shrinking a pool evicts the Services outside it", steps: [
        .config(pools(poolYAML("a", ["10.0.0.0/29"]))),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .alloc(req("s2"), "a: 10.0.0.1"),
        .alloc(req("s3"), "a: 10.0.0.2"),
        .alloc(req("s4"), "a: 10.0.0.3"),
        .alloc(req("s5"), "a: 10.0.0.4"),
        .config(pools(poolYAML("a", ["10.0.0.0/30"])), evicted: ["default/s5"]),
        .stats("a", "v4 4/4 v6 0/0"),
        .alloc(req("s5"), "error: no available IPs (pool \"a\" is full)"),
        .alloc(req("s1"), "a: 10.0.0.0"),
    ]),
    .init(name: "splitting a pool re-homes allocations to the new pools", steps: [
        .config(pools(poolYAML("big", ["10.0.0.0/29"]))),
        .alloc(req("s1"), "big: 10.0.0.0"),
        .alloc(req("s2", ips: ["10.0.0.6"]), "big: 10.0.0.6"),
        .config(pools(poolYAML("low", ["10.0.0.0/30"]), poolYAML("high", ["10.0.0.4/30"]))),
        .stats("low", "v4 1/4 v6 0/0"),
        .stats("high", "v4 1/4 v6 0/0"),
        .alloc(req("s2"), "high: 10.0.0.6"),
        .alloc(req("s3", pool: "high"), "high: 10.0.0.4"),
        .alloc(req("s1"), "low: 10.0.0.0"),
    ]),
    .init(name: "deleting a pool re-allocates from another; deleting all leaves nothing", steps: [
        .config(pools(poolYAML("a", ["10.0.0.0/30"]), poolYAML("b", ["10.0.1.0/30"]))),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .alloc(req("s2", pool: "b"), "b: 10.0.1.0"),
        .config(pools(poolYAML("b", ["10.0.1.0/30"])), evicted: ["default/s1"]),
        .alloc(req("s1"), "b: 10.0.1.1"),
        .config("", evicted: ["default/s1", "default/s2"]),
        .alloc(req("s1"), "error: no available IPs (no IPAddressPool is configured)"),
    ]),
    .init(name: "turning avoidBuggyIPs on evicts a .0 holder", steps: [
        .config(pools(poolYAML("p", ["10.0.0.0/24"]))),
        .alloc(req("s1"), "p: 10.0.0.0"),
        .alloc(req("s2"), "p: 10.0.0.1"),
        .config(pools(poolYAML("p", ["10.0.0.0/24"], "avoidBuggyIPs: true")), evicted: ["default/s1"]),
        .alloc(req("s1"), "p: 10.0.0.2"),
        .stats("p", "v4 2/254 v6 0/0"),
    ]),
    .init(name: "a scope change moves a Service on its next allocation", steps: [
        .config(pools(poolYAML("fallback", ["10.9.0.0/30"]), poolYAML("team", ["10.1.0.0/30"], "serviceAllocation: {namespaces: [team]}"))),
        .alloc(req("s1", ns: "team"), "team: 10.1.0.0"),
        .config(pools(poolYAML("fallback", ["10.9.0.0/30"]), poolYAML("team", ["10.1.0.0/30"], "serviceAllocation: {namespaces: [other]}"))),
        .alloc(req("s1", ns: "team"), "fallback: 10.9.0.0"),
        .stats("team", "v4 0/4 v6 0/0"),
    ]),
    .init(name: "changing the requested address or pool reallocates", steps: [
        .config(pools(poolYAML("a", ["10.0.0.0/30"]), poolYAML("b", ["10.0.1.0/30"]))),
        .alloc(req("s1"), "a: 10.0.0.0"),
        .alloc(req("s1", ips: ["10.0.0.3"]), "a: 10.0.0.3"),
        .alloc(req("s1", pool: "b"), "b: 10.0.1.0"),
        .alloc(req("s1", pool: "b"), "b: 10.0.1.0"),
        .alloc(req("s1"), "b: 10.0.1.0"),
        .stats("a", "v4 0/4 v6 0/0"),
        .alloc(req("s1", ips: ["10.0.0.3"], pool: "b"), "error: requested loadBalancer IP(s) [\"10.0.0.3\"] is not compatible with requested address pool b"),
        .stats("b", "v4 0/4 v6 0/0"),
    ]),
    .init(name: "IPv6 pools report exact sizes", steps: [
        .config(pools(poolYAML("v6", ["2001:db8::/64", "2001:db9::/48"]))),
        .alloc(req("s1", families: .singleStack(.ipv6)), "v6: 2001:db8::"),
        .alloc(req("s2", ips: ["2001:db9::ffff"], families: .singleStack(.ipv6)), "v6: 2001:db9::ffff"),
        .stats("v6", "v4 0/0 v6 2/1208944266358702884257792"),
        .alloc(req("s3"), "error: no available IPs (pool \"v6\" has no IPv4 addresses)"),
    ]),
    .init(name: "ranges are walked in address order across entries", steps: [
        .config(pools(poolYAML("p", ["10.0.0.8-10.0.0.9", "10.0.0.1-10.0.0.2"]))),
        .alloc(req("s1"), "p: 10.0.0.1"),
        .alloc(req("s2"), "p: 10.0.0.2"),
        .alloc(req("s3"), "p: 10.0.0.8"),
        .alloc(req("s4"), "p: 10.0.0.9"),
        .alloc(req("s5"), "error: no available IPs (pool \"p\" is full)"),
        .release("default/s2"),
        .alloc(req("s5"), "p: 10.0.0.2"),
    ]),
    .init(name: "unscoped pools are tried in name order", steps: [
        .config(pools(poolYAML("zeta", ["10.0.9.0/31"]), poolYAML("alpha", ["10.0.1.0/31"]))),
        .alloc(req("s1"), "alpha: 10.0.1.0"),
        .alloc(req("s2"), "alpha: 10.0.1.1"),
        .alloc(req("s3"), "zeta: 10.0.9.0"),
        .release("default/s1"),
        .alloc(req("s4"), "alpha: 10.0.1.0"),
    ]),
]

@Suite("Allocator scenarios")
struct ScenarioTests {
    /// Each step of each scenario gives exactly the expected addresses, error, statistics or users.
    @Test("scripted steps", arguments: scenarios)
    func run(_ scenario: Scenario) {
        var allocator = AddressAllocator()
        for (i, step) in scenario.steps.enumerated() {
            switch step {
            case .config(let yaml, let expected):
                let evicted = allocator.setConfiguration(configuration(yaml)).keys.map(\.description).sorted()
                #expect(evicted == expected.sorted(), "step \(i): evictions")
            case .alloc(let r, let expected):
                #expect(outcome { () throws(AllocationError) in try allocator.allocate(r).allocation } == expected, "step \(i)")
            case .restore(let r, let ips, let expected):
                let addresses = ips.compactMap { try? IPAddress($0) }
                #expect(outcome { () throws(AllocationError) in try allocator.restore(r, ips: addresses) } == expected, "step \(i)")
            case .release(let s):
                let parts = s.split(separator: "/").map(String.init)
                #expect(allocator.release(ServiceKey(namespace: parts[0], name: parts[1])) != nil, "step \(i): release \(s)")
            case .stats(let pool, let expected):
                #expect(stats(allocator, pool) == expected, "step \(i)")
            case .users(let ip, let expected):
                #expect(allocator.users(of: (try? IPAddress(ip)) ?? .v4(IPv4Address(0))).map(\.description) == expected, "step \(i)")
            }
        }
    }

    @Test("the scenarios hold at least 150 steps")
    func coverage() {
        #expect(scenarios.reduce(0) { $0 + $1.steps.count } >= 150)
    }

    @Test("outcomes say whether anything changed and what was replaced")
    func outcomes() throws {
        var a = AddressAllocator(configuration: configuration(pools(poolYAML("a", ["10.0.0.0/30"]), poolYAML("b", ["10.0.1.0/30"]))))
        let first = try a.allocate(req("s"))
        #expect(first.changed && first.replaced == nil)
        let again = try a.allocate(req("s"))
        #expect(!again.changed && again.replaced == nil)
        let moved = try a.allocate(req("s", pool: "b"))
        #expect(moved.changed)
        #expect(moved.replaced?.allocation.ips == [try IPAddress("10.0.0.0")])
        #expect(moved.replaced?.reason == .invalidRequest("requested pool changed to \"b\""))
    }
}

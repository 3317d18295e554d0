import AddressAllocator
import KubernetesModel
import LoadBalancerConfig
import Testing
@testable import ControllerRuntime

/// A tiny cluster: Services as the API shows them, updated by applying the reconciler's writes.
struct FakeCluster {
    var services: [ServiceKey: Service] = [:]
    var events: [(ServiceKey, String, String)] = []
    var writes = 0
    var clock = 0

    mutating func add(_ name: String, namespace: String = "default", _ edit: (inout Service) -> Void = { _ in }) {
        clock += 1
        var s = Service(metadata: ObjectMeta(name: name, namespace: namespace),
                        spec: ServiceSpec(type: "LoadBalancer", ports: [ServicePortSpec(port: 80)]))
        s.metadata.creationTimestamp = "2026-11-28T00:00:\(String(format: "%02d", clock))Z"
        s.spec.clusterIPs = ["10.96.0.\(clock)"]
        s.spec.ipFamilyPolicy = "SingleStack"
        edit(&s)
        services[ServiceKey(namespace: namespace, name: name)] = s
    }

    mutating func apply(_ actions: [ServiceReconciler.Action]) {
        for a in actions {
            switch a {
            case .setIngress(let k, let ips):
                writes += 1
                services[k]?.status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: ips.isEmpty ? nil : ips.map { LoadBalancerIngress(ip: $0) }))
            case .setPoolAnnotation(let k, let pool):
                writes += 1
                var a = services[k]?.metadata.annotations ?? [:]
                a[ServiceAnnotations.allocatedFromPool] = pool
                services[k]?.metadata.annotations = a
            case .event(let k, let e):
                writes += 1
                events.append((k, e.reason, e.message))
            case .setPoolStatus:
                break
            }
        }
    }

    func ips(_ name: String, namespace: String = "default") -> [String] {
        services[ServiceKey(namespace: namespace, name: name)]?.status?.loadBalancer?.ingress?.compactMap(\.ip) ?? []
    }

    func lastEvent(_ name: String) -> String {
        guard let e = events.last(where: { $0.0.name == name }) else { return "" }
        return "\(e.1): \(e.2)"
    }
}

func config(_ yaml: String) throws -> Configuration {
    try ConfigurationLoader().load([ConfigSource(name: "test.yaml", text: yaml)]).configuration
}

func pool(_ name: String, _ addresses: [String], extra: String = "") -> String {
    """
    apiVersion: metallb.io/v1beta1
    kind: IPAddressPool
    metadata: {name: \(name), namespace: metallb-system}
    spec:
      addresses: [\(addresses.joined(separator: ", "))]
    \(extra)
    ---

    """
}

@Suite("Controller decisions (metallb-behaviour.md §7 acceptance cases)")
struct ServiceReconcilerTests {
    func run(_ r: inout ServiceReconciler, _ c: inout FakeCluster) {
        // Two passes: the second must find nothing left to do.
        c.apply(r.reconcile(Array(c.services.values), namespaceLabels: [:]))
        let again = r.reconcile(Array(c.services.values), namespaceLabels: [:])
        #expect(again.filter { if case .setPoolStatus = $0 { return false }; return true }.isEmpty, "second pass wrote \(again)")
    }

    /// 3: a requested IP outside all pools fails with MetalLB's message; loadBalancerIP plus the annotation is
    /// LoadBalancerFailed.
    @Test("case 3: requested IP outside the pools; loadBalancerIP plus annotation")
    func requestedOutside() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"])))
        var c = FakeCluster()
        c.add("out") { $0.spec.loadBalancerIP = "198.51.100.7" }
        c.add("both") {
            $0.spec.loadBalancerIP = "192.0.2.1"
            $0.metadata.annotations = ["metallb.io/loadBalancerIPs": "192.0.2.2"]
        }
        run(&r, &c)
        #expect(c.ips("out").isEmpty)
        #expect(c.lastEvent("out") == "AllocationFailed: Failed to allocate IP for \"default/out\": [\"198.51.100.7\"] is not allowed in config")
        #expect(c.lastEvent("both") == "LoadBalancerFailed: service can not have both metallb.io/loadBalancerIPs and spec.loadBalancerIP")
    }

    /// 4: an exhausted pool leaves the newest Service pending; deleting a holder gives it the freed address.
    @Test("case 4: pool exhausted, then the freed IP goes to the pending Service")
    func exhausted() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.10-192.0.2.11"])))
        var c = FakeCluster()
        for n in ["s1", "s2", "s3"] { c.add(n) }
        run(&r, &c)
        #expect(c.ips("s1") == ["192.0.2.10"])
        #expect(c.ips("s2") == ["192.0.2.11"])
        #expect(c.lastEvent("s3") == "AllocationFailed: Failed to allocate IP for \"default/s3\": no available IPs (pool \"a\" is full)")
        c.services[ServiceKey(namespace: "default", name: "s1")] = nil
        run(&r, &c)
        #expect(c.ips("s3") == ["192.0.2.10"])
        #expect(c.lastEvent("s3") == "IPAllocated: Assigned IP [\"192.0.2.10\"]")
    }

    /// 5: autoAssign=false pools are used only on request; scoped pools by priority; avoidBuggyIPs skips .0.
    @Test("case 5: autoAssign, priorities, avoidBuggyIPs")
    func poolChoice() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(
            pool("manual", ["192.0.2.0/24"], extra: "  autoAssign: false")
            + pool("buggy", ["198.51.100.0/24"], extra: "  avoidBuggyIPs: true")))
        var c = FakeCluster()
        c.add("auto")
        c.add("asked") { $0.metadata.annotations = ["metallb.io/address-pool": "manual"] }
        run(&r, &c)
        #expect(c.ips("auto") == ["198.51.100.1"])
        #expect(c.ips("asked") == ["192.0.2.0"])
        #expect(c.services[ServiceKey(namespace: "default", name: "asked")]?.metadata.annotations?[ServiceAnnotations.allocatedFromPool] == "manual")
    }

    /// 6: same sharing key with disjoint ports share one address; overlapping ports are refused with the message.
    @Test("case 6: IP sharing")
    func sharing() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"])))
        var c = FakeCluster()
        c.add("dns-tcp") {
            $0.metadata.annotations = ["metallb.io/allow-shared-ip": "dns", "metallb.io/loadBalancerIPs": "192.0.2.5"]
            $0.spec.ports = [ServicePortSpec(protocol: "TCP", port: 53)]
        }
        c.add("dns-udp") {
            $0.metadata.annotations = ["metallb.io/allow-shared-ip": "dns", "metallb.io/loadBalancerIPs": "192.0.2.5"]
            $0.spec.ports = [ServicePortSpec(protocol: "UDP", port: 53)]
        }
        c.add("clash") {
            $0.metadata.annotations = ["metallb.io/allow-shared-ip": "dns", "metallb.io/loadBalancerIPs": "192.0.2.5"]
            $0.spec.ports = [ServicePortSpec(protocol: "TCP", port: 53)]
        }
        run(&r, &c)
        #expect(c.ips("dns-tcp") == ["192.0.2.5"])
        #expect(c.ips("dns-udp") == ["192.0.2.5"])
        #expect(c.ips("clash").isEmpty)
        #expect(c.lastEvent("clash") == "AllocationFailed: Failed to allocate IP for \"default/clash\": port TCP/53 is already in use on \"192.0.2.5\"")
    }

    /// 7: a restarted controller (a fresh reconciler) restores A's address before considering the pending B, and
    /// writes nothing.
    @Test("case 7: restart with one IP: the holder keeps it, zero writes")
    func restart() throws {
        let cfg = try config(pool("a", ["192.0.2.10/32"]))
        var r = ServiceReconciler()
        r.setConfiguration(cfg)
        var c = FakeCluster()
        c.add("b-newer-name-sorted-first") { $0.metadata.creationTimestamp = "2026-11-28T00:00:09Z" }
        c.add("a") { $0.metadata.creationTimestamp = "2026-11-28T00:00:10Z" }
        // Before the restart "a" held the address (it was created when the pool was free).
        c.services[ServiceKey(namespace: "default", name: "a")]?.status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: [LoadBalancerIngress(ip: "192.0.2.10")]))
        c.services[ServiceKey(namespace: "default", name: "a")]?.metadata.annotations = [ServiceAnnotations.allocatedFromPool: "a"]
        c.services[ServiceKey(namespace: "default", name: "b-newer-name-sorted-first")]?.metadata.creationTimestamp = "2026-11-28T00:00:01Z"
        var fresh = ServiceReconciler()
        fresh.setConfiguration(cfg)
        let before = c.writes
        c.apply(fresh.reconcile(Array(c.services.values), namespaceLabels: [:]).filter { if case .event = $0 { return false }; return true })
        #expect(c.ips("a") == ["192.0.2.10"])
        #expect(c.ips("b-newer-name-sorted-first").isEmpty)
        #expect(c.writes == before)
    }

    /// 8: deleting a pool moves its Services to another; deleting every pool clears them; type change frees.
    @Test("case 8: pool deleted, all pools deleted, type changed")
    func poolsDeleted() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"]) + pool("b", ["198.51.100.0/28"])))
        var c = FakeCluster()
        c.add("s") { $0.metadata.annotations = ["metallb.io/address-pool": "a"] }
        c.add("t")
        run(&r, &c)
        #expect(c.ips("s") == ["192.0.2.0"])
        c.services[ServiceKey(namespace: "default", name: "s")]?.metadata.annotations?["metallb.io/address-pool"] = nil
        r.setConfiguration(try config(pool("b", ["198.51.100.0/28"])))
        run(&r, &c)
        #expect(c.ips("s").first?.hasPrefix("198.51.100.") == true)
        #expect(c.lastEvent("s").hasPrefix("IPAllocated"))
        c.services[ServiceKey(namespace: "default", name: "t")]?.spec.type = "ClusterIP"
        run(&r, &c)
        #expect(c.ips("t").isEmpty)
        #expect(c.services[ServiceKey(namespace: "default", name: "t")]?.metadata.annotations?[ServiceAnnotations.allocatedFromPool] == nil)
        r.setConfiguration(.empty)
        run(&r, &c)
        #expect(c.ips("s").isEmpty)
        #expect(c.lastEvent("s") == "AllocationFailed: Failed to allocate IP for \"default/s\": no available IPs (no IPAddressPool is configured)")
    }

    /// 9: RequireDualStack from a single-stack pool fails; PreferDualStack gains IPv6 once the pool has it.
    @Test("case 9: dual stack")
    func dualStack() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"])))
        var c = FakeCluster()
        c.add("req") {
            $0.spec.ipFamilyPolicy = "RequireDualStack"
            $0.spec.clusterIPs = ["10.96.1.1", "fd00::1"]
        }
        c.add("pref") {
            $0.spec.ipFamilyPolicy = "PreferDualStack"
            $0.spec.clusterIPs = ["10.96.1.2", "fd00::2"]
        }
        run(&r, &c)
        #expect(c.ips("req").isEmpty)
        #expect(c.lastEvent("req").hasPrefix("AllocationFailed"))
        #expect(c.ips("pref") == ["192.0.2.0"])
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28", "2001:db8::/120"])))
        run(&r, &c)
        #expect(c.ips("pref") == ["192.0.2.0", "2001:db8::"])
        #expect(c.ips("req") == ["192.0.2.1", "2001:db8::1"])
    }

    /// 10: a Service with another loadBalancerClass is never touched; with --lb-class only that class is served.
    @Test("case 10: loadBalancerClass")
    func lbClass() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"])))
        var c = FakeCluster()
        c.add("foreign") { $0.spec.loadBalancerClass = "other.io/lb" }
        c.add("mine")
        run(&r, &c)
        #expect(c.ips("foreign").isEmpty)
        #expect(c.events.allSatisfy { $0.0.name != "foreign" })
        var scoped = ServiceReconciler(loadBalancerClass: "other.io/lb")
        scoped.setConfiguration(try config(pool("a", ["198.51.100.0/28"])))
        var d = FakeCluster()
        d.add("foreign") { $0.spec.loadBalancerClass = "other.io/lb" }
        d.add("plain")
        run(&scoped, &d)
        #expect(d.ips("foreign") == ["198.51.100.0"])
        #expect(d.ips("plain").isEmpty)
    }

    /// Steady state: a second pass over unchanged inputs emits nothing; events are not repeated.
    @Test("no writes and no repeated events in steady state")
    func steadyState() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.10/32"])))
        var c = FakeCluster()
        c.add("s1")
        c.add("s2")
        run(&r, &c)
        let events = c.events.count
        for _ in 0..<3 { c.apply(r.reconcile(Array(c.services.values), namespaceLabels: [:])) }
        #expect(c.events.count == events)
    }

    /// Bad input: a malformed annotation is a LoadBalancerFailed event for that Service only.
    @Test("a malformed annotation fails only its Service")
    func malformedAnnotation() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"])))
        var c = FakeCluster()
        c.add("bad") { $0.metadata.annotations = ["metallb.io/loadBalancerIPs": "not-an-ip"] }
        c.add("good")
        run(&r, &c)
        #expect(c.lastEvent("bad") == "LoadBalancerFailed: metallb.io/loadBalancerIPs: \"not-an-ip\" is not an IP address")
        #expect(c.ips("good") == ["192.0.2.0"])
    }

    /// A write the API answered with success but never applied (a broken proxy, a garbled answer): it is not
    /// repeated while it may still be in flight, and is written again once the watch has not shown it for the
    /// confirmation window; a write the API shows is never repeated.
    @Test("an unconfirmed write is repeated after the confirmation window")
    func unconfirmedWrite() throws {
        var r = ServiceReconciler()
        r.setConfiguration(try config(pool("a", ["192.0.2.0/28"])))
        var c = FakeCluster()
        c.add("lost")
        let t0 = ContinuousClock.now
        let first = r.reconcile(Array(c.services.values), namespaceLabels: [:], now: t0)
        #expect(first.contains { if case .setIngress = $0 { true } else { false } })
        #expect(r.awaitingConfirmation)
        // The answer said success; the API shows nothing.
        for dt in [Duration.seconds(1), .seconds(9)] {
            let again = r.reconcile(Array(c.services.values), namespaceLabels: [:], now: t0 + dt)
            #expect(!again.contains { if case .setIngress = $0 { true } else { false } }, "repeated after \(dt)")
        }
        let late = r.reconcile(Array(c.services.values), namespaceLabels: [:], now: t0 + ServiceReconciler.confirmation + .milliseconds(1))
        #expect(late.contains { if case .setIngress(_, let ips) = $0 { ips == ["192.0.2.0"] } else { false } })
        #expect(!late.contains { if case .event = $0 { true } else { false } }, "the event is not repeated")
        c.apply(late)
        let settled = r.reconcile(Array(c.services.values), namespaceLabels: [:], now: t0 + .seconds(60))
        #expect(settled.filter { if case .setPoolStatus = $0 { false } else { true } }.isEmpty)
        #expect(!r.awaitingConfirmation)
    }
}

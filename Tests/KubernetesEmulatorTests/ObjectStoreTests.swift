import Foundation
import Testing
import KubernetesModel
@testable import KubernetesEmulator

func json(_ text: String) -> JSONValue {
    (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
}

func type(_ plural: String) -> ResourceType {
    ResourceType.catalog.first { $0.plural == plural } ?? ResourceType.catalog[0]
}

func makeStore(historyLimit: Int = 1000) -> ObjectStore {
    let counter = Counter()
    return ObjectStore(historyLimit: historyLimit, now: { "2026-11-28T02:00:00Z" }, makeUID: { "uid-\(counter.next())" })
}

final class Counter: @unchecked Sendable {
    // Safety: tests use each store from one task only.
    private var value = 0
    func next() -> Int { value += 1; return value }
}

func status(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "ok"
    } catch let error as Status {
        return error.description
    } catch {
        return "unexpected \(error)"
    }
}

@Suite("Object store")
struct ObjectStoreTests {
    @Test("create sets system metadata and rejects duplicates, bad names, wrong kinds and missing namespaces")
    func create() throws {
        var s = makeStore()
        let start = s.resourceVersion
        let svc = try s.create(type("services"), namespace: "default", json(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}"#))
        #expect(svc["metadata"]?["uid"] != nil)
        #expect(svc["metadata"]?["namespace"] == .string("default"))
        #expect(svc["metadata"]?["resourceVersion"] == .string(String(start + 1)))
        #expect(svc["metadata"]?["generation"] == .int(1))
        #expect(svc["status"] == nil)  // status is not writable on create
        #expect(status { _ = try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"web"}}"#)) }
                == "409 AlreadyExists: services \"web\" already exists")
        #expect(status { _ = try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"Web"}}"#)) }.hasPrefix("422 Invalid: Service \"Web\" is invalid: metadata.name: Invalid value: \"Web\""))
        #expect(status { _ = try s.create(type("services"), namespace: "default", json(#"{"kind":"Pod","metadata":{"name":"x"}}"#)) }
                == "400 BadRequest: the kind in the data (Pod) does not match the expected kind (Service)")
        #expect(status { _ = try s.create(type("services"), namespace: "nope", json(#"{"metadata":{"name":"x"}}"#)) }
                == "404 NotFound: namespaces \"nope\" not found")
        #expect(status { _ = try s.create(type("ipaddresspools"), namespace: "default", json(#"{"apiVersion":"metallb.io/v1beta2","kind":"IPAddressPool","metadata":{"name":"p"}}"#)) }
                == "400 BadRequest: the API version in the data (metallb.io/v1beta2) does not match the expected API version (metallb.io/v1beta1)")
        // RBAC names are path segments, as the API server checks them: "group:component" is fine, '/' is not.
        let role = try s.create(type("clusterroles"), namespace: nil, json(#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"beacon:controller"}}"#))
        #expect(role["metadata"]?["name"] == "beacon:controller")
        #expect(status { _ = try s.create(type("clusterroles"), namespace: nil, json(#"{"metadata":{"name":"a/b"}}"#)) }.contains("may not contain '/'"))
        #expect(status { _ = try s.create(type("deployments"), namespace: "default", json(#"{"metadata":{"name":"a:b"}}"#)) }.contains("RFC 1123 subdomain"))
        let generated = try s.create(type("events"), namespace: "default", json(#"{"metadata":{"generateName":"web."}}"#))
        #expect(generated["metadata"]?["name"]?.stringValue?.hasPrefix("web.") == true)
    }

    @Test("updates are optimistic, no-ops change nothing, and status is a separate subresource")
    func updates() throws {
        var s = makeStore()
        let created = try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"web","labels":{"a":"b"}},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}"#))
        let rv = created["metadata"]?["resourceVersion"]
        // A no-op update keeps the resourceVersion.
        let same = try s.update(type("services"), namespace: "default", name: "web", created)
        #expect(same["metadata"]?["resourceVersion"] == rv)
        // Status through the status subresource: labels in the body are ignored.
        var withStatus = created
        withStatus["status"] = json(#"{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}"#)
        withStatus["metadata"]?["labels"] = json(#"{"a":"changed"}"#)
        let s1 = try s.update(type("services"), namespace: "default", name: "web", withStatus, subresource: .status)
        #expect(s1["status"]?["loadBalancer"]?["ingress"] == json(#"[{"ip":"192.0.2.10","ipMode":"VIP"}]"#))
        #expect(s1["metadata"]?["labels"] == json(#"{"a":"b"}"#))
        #expect(s1["metadata"]?["resourceVersion"] != rv)
        // A main-resource update cannot change status.
        var cleared = s1
        cleared["status"] = json("{}")
        cleared["metadata"]?["labels"] = json(#"{"a":"c"}"#)
        let s2 = try s.update(type("services"), namespace: "default", name: "web", cleared)
        #expect(s2["status"] == s1["status"])
        #expect(s2["metadata"]?["labels"] == json(#"{"a":"c"}"#))
        #expect(s2["metadata"]?["generation"] == .int(1))  // spec unchanged
        // A stale resourceVersion is a conflict.
        #expect(status { _ = try s.update(type("services"), namespace: "default", name: "web", created) }
                == "409 Conflict: Operation cannot be fulfilled on services \"web\": the object has been modified; please apply your changes to the latest version and try again")
        // A spec change bumps the generation.
        var changed = s2
        changed["spec"]?["ports"] = json(#"[{"port":81}]"#)
        #expect(try s.update(type("services"), namespace: "default", name: "web", changed)["metadata"]?["generation"] == .int(2))
        #expect(status { _ = try s.update(type("services"), namespace: "default", name: "nope", changed) } == "404 NotFound: services \"nope\" not found")
    }

    @Test("merge and JSON patches, with preconditions and errors")
    func patches() throws {
        var s = makeStore()
        try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"web"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}"#))
        let p = try s.patch(type("services"), namespace: "default", name: "web",
                            .merge(json(#"{"metadata":{"annotations":{"metallb.io/ip-allocated-from-pool":"default"}}}"#)))
        #expect(p["metadata"]?["annotations"] == json(#"{"metallb.io/ip-allocated-from-pool":"default"}"#))
        let st = try s.patch(type("services"), namespace: "default", name: "web",
                             .merge(json(#"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}"#)), subresource: .status)
        #expect(st["status"]?["loadBalancer"]?["ingress"]?.description == #"[{"ip":"192.0.2.1","ipMode":"VIP"}]"#)
        let labelled = try s.patch(type("services"), namespace: "default", name: "web",
                                   .json([JSONPatch.Operation(op: "add", path: "/metadata/labels", value: json(#"{"x":"y"}"#))]))
        #expect(labelled["metadata"]?["labels"] == json(#"{"x":"y"}"#))
        #expect(status { _ = try s.patch(type("services"), namespace: "default", name: "web", .json([JSONPatch.Operation(op: "test", path: "/metadata/name", value: .string("other"))])) }
                == "422 Invalid: JSON patch operation 0: test failed at /metadata/name")
        #expect(status { _ = try s.patch(type("services"), namespace: "default", name: "web", .merge(json(#"{"metadata":{"resourceVersion":"1"}}"#))) }.hasPrefix("409 Conflict"))
    }

    @Test("finalizers delay deletion until they are removed")
    func finalizers() throws {
        var s = makeStore()
        try s.create(type("configmaps"), namespace: "default", json(#"{"metadata":{"name":"c","finalizers":["example.com/keep"]}}"#))
        let marked = try s.delete(type("configmaps"), namespace: "default", name: "c")
        #expect(marked["metadata"]?["deletionTimestamp"] != nil)
        #expect((try? s.get(type("configmaps"), namespace: "default", name: "c")) != nil)
        _ = try s.patch(type("configmaps"), namespace: "default", name: "c", .merge(json(#"{"metadata":{"finalizers":null}}"#)))
        #expect(status { _ = try s.get(type("configmaps"), namespace: "default", name: "c") } == "404 NotFound: configmaps \"c\" not found")
    }

    @Test("lists filter by namespace and selectors")
    func lists() throws {
        var s = makeStore()
        try s.create(type("namespaces"), namespace: nil, json(#"{"metadata":{"name":"team"}}"#))
        try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"a","labels":{"app":"web"}}}"#))
        try s.create(type("services"), namespace: "team", json(#"{"metadata":{"name":"b","labels":{"app":"db"}}}"#))
        try s.create(type("services"), namespace: "team", json(#"{"metadata":{"name":"c"}}"#))
        #expect(s.list(type("services"), namespace: nil).items.count == 3)
        #expect(s.list(type("services"), namespace: "team").items.count == 2)
        let web = try LabelSelector(parsing: "app=web")
        #expect(s.list(type("services"), namespace: nil, labels: web).items.map { $0["metadata"]?["name"] } == [.string("a")])
        let notWeb = try LabelSelector(parsing: "app!=web")
        #expect(s.list(type("services"), namespace: nil, labels: notWeb).items.count == 2)
        let byName = try FieldSelector(parsing: "metadata.name=c")
        #expect(s.list(type("services"), namespace: nil, fields: byName).items.count == 1)
        #expect(s.list(type("namespaces"), namespace: nil).items.count == 5)
    }

    @Test("watch history: changes after a resourceVersion, selector transitions, and 410 for expired versions")
    func watch() throws {
        var s = makeStore(historyLimit: 5)
        let start = s.resourceVersion
        try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"a","labels":{"app":"web"}}}"#))
        _ = try s.patch(type("services"), namespace: "default", name: "a", .merge(json(#"{"metadata":{"labels":{"app":"db"}}}"#)))
        _ = try s.delete(type("services"), namespace: "default", name: "a")
        let all = try s.changes(type("services"), namespace: nil, since: start)
        #expect(all.map(\.type) == [.added, .modified, .deleted])
        #expect(all.map(\.resourceVersion) == [start + 1, start + 2, start + 3])
        // With a selector, leaving it looks like a deletion, and the later delete is not seen again.
        let web = try s.changes(type("services"), namespace: nil, since: start, labels: try LabelSelector(parsing: "app=web"))
        #expect(web.map(\.type) == [.added, .deleted])
        #expect(try s.changes(type("services"), namespace: nil, since: s.resourceVersion).isEmpty)
        for i in 0..<10 { try s.create(type("configmaps"), namespace: "default", json(#"{"metadata":{"name":"c\#(i)"}}"#)) }
        #expect(status { _ = try s.changes(type("services"), namespace: nil, since: start) }.hasPrefix("410 Expired: too old resource version: \(start)"))
    }

    @Test("deleting a namespace deletes what is in it")
    func namespaceDeletion() throws {
        var s = makeStore()
        try s.create(type("namespaces"), namespace: nil, json(#"{"metadata":{"name":"team"}}"#))
        try s.create(type("services"), namespace: "team", json(#"{"metadata":{"name":"b"}}"#))
        try s.delete(type("namespaces"), namespace: nil, name: "team")
        #expect(s.list(type("services"), namespace: "team").items.isEmpty)
    }

    /// Service defaulting as the API server does it.
    @Test("defaults Services like the API server")
    func serviceDefaults() throws {
        var s = makeStore()
        let lb = try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"lb"},"spec":{"type":"LoadBalancer","ports":[{"port":80},{"port":53,"protocol":"UDP"}],"externalTrafficPolicy":"Local"}}"#))
        #expect(lb["spec"]?["clusterIP"] == .string("10.96.0.10"))
        #expect(lb["spec"]?["clusterIPs"] == json(#"["10.96.0.10"]"#))
        #expect(lb["spec"]?["ipFamilies"] == json(#"["IPv4"]"#))
        #expect(lb["spec"]?["ipFamilyPolicy"] == .string("SingleStack"))
        #expect(lb["spec"]?["ports"]?.description == #"[{"nodePort":30000,"port":80,"protocol":"TCP","targetPort":80},{"nodePort":30001,"port":53,"protocol":"UDP","targetPort":53}]"#)
        #expect(lb["spec"]?["healthCheckNodePort"] == .int(30002))
        #expect(lb["spec"]?["allocateLoadBalancerNodePorts"] == .bool(true))
        #expect(lb["spec"]?["sessionAffinity"] == .string("None"))
        let dual = try s.create(type("services"), namespace: "default", json(#"{"metadata":{"name":"dual"},"spec":{"ipFamilyPolicy":"RequireDualStack","ports":[{"port":80}]}}"#))
        #expect(dual["spec"]?["clusterIPs"] == json(#"["10.96.0.11","fd00:10:96::a"]"#))
        #expect(dual["spec"]?["type"] == .string("ClusterIP"))
        #expect(dual["spec"]?["ports"]?.description == #"[{"port":80,"protocol":"TCP","targetPort":80}]"#)
        // Node ports and cluster IPs survive updates; cluster IPs cannot be changed.
        var edited = lb
        edited["spec"]?["ports"] = json(#"[{"port":80,"protocol":"TCP"}]"#)
        let updated = try s.update(type("services"), namespace: "default", name: "lb", edited)
        #expect(updated["spec"]?["ports"]?.description == #"[{"nodePort":30000,"port":80,"protocol":"TCP","targetPort":80}]"#)
        var moved = updated
        moved["spec"]?["clusterIPs"] = json(#"["10.96.9.9"]"#)
        #expect(status { _ = try s.update(type("services"), namespace: "default", name: "lb", moved) }.hasPrefix("422 Invalid: Service \"lb\" is invalid: spec.clusterIPs[0]"))
    }
}

@Suite("Selector syntax")
struct SelectorParsingTests {
    static let labels = ["app": "web", "tier": "fe", "zone": "a"]

    @Test("parses kubectl selectors", arguments: [
        ("app=web", true), ("app==web", true), ("app!=web", false), ("app=db", false), ("app in (web,db)", true),
        ("app notin (web)", false), ("app", true), ("!app", false), ("!gpu", true), ("app=web,tier=fe", true),
        ("app=web,tier in (be)", false), ("zone in (a, b),app", true), ("", true),
    ])
    func parses(_ text: String, _ matches: Bool) throws {
        #expect(try LabelSelector(parsing: text).matches(Self.labels) == matches)
    }

    @Test("rejects malformed selectors", arguments: ["app in web", "a>1", "!", "app in (x,,y)", "bad key=x"])
    func rejects(_ text: String) {
        #expect(throws: LabelSelector.ParseError.self) { try LabelSelector(parsing: text) }
    }
}

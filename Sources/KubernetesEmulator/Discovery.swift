import KubernetesModel

/// The discovery documents kubectl reads to map kinds and short names to URLs: `/version`, `/api`, `/apis`,
/// `/api/v1`, `/apis/GROUP`, `/apis/GROUP/VERSION`, and just enough of `/openapi/v3` for kubectl to know that
/// the server validates fields itself (`fieldValidation`), which `kubectl create/apply` check before sending.
enum Discovery {
    static let serverVersion: JSONValue = .object([
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-beacon-emulator", "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2026-11-28T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
        "platform": "linux/amd64",
    ])

    static func coreVersions(serverAddress: String) -> JSONValue {
        .object([
            "kind": "APIVersions", "versions": .array(["v1"]),
            "serverAddressByClientCIDRs": .array([.object(["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)])]),
        ])
    }

    /// Each group's versions, highest Kubernetes version priority first (v1 > v1beta2 > v1beta1 > v1alpha1),
    /// which makes the first the group's preferred version, as on the real server.
    static func groups(_ types: [ResourceType]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for t in types where !t.group.isEmpty {
            for v in t.versions where !(out[t.group]?.contains(v) ?? false) { out[t.group, default: []].append(v) }
        }
        return out.mapValues { $0.sorted { priority($0) > priority($1) } }
    }

    static func priority(_ version: String) -> (Int, Int, Int) {
        let digits = version.dropFirst().prefix { $0.isNumber }
        let major = Int(digits) ?? 0
        let rest = version.dropFirst(1 + digits.count)
        let stage = rest.hasPrefix("beta") ? 1 : rest.hasPrefix("alpha") ? 0 : 2
        let minor = Int(rest.drop { !$0.isNumber }) ?? 0
        return (stage, major, minor)
    }

    static func group(_ name: String, versions: [String]) -> JSONValue {
        let vs = versions.map { JSONValue.object(["groupVersion": .string("\(name)/\($0)"), "version": .string($0)]) }
        return .object(["name": .string(name), "versions": .array(vs), "preferredVersion": vs[0]])
    }

    static func groupList(_ types: [ResourceType]) -> JSONValue {
        let gs = groups(types)
        return .object(["kind": "APIGroupList", "apiVersion": "v1",
                        "groups": .array(gs.keys.sorted().map { group($0, versions: gs[$0] ?? []) })])
    }

    static func groupDocument(_ name: String, _ types: [ResourceType]) -> JSONValue? {
        guard let versions = groups(types)[name] else { return nil }
        var g = group(name, versions: versions)
        g["kind"] = "APIGroup"
        g["apiVersion"] = "v1"
        return g
    }

    static func resourceList(group: String, version: String, _ types: [ResourceType]) -> JSONValue? {
        let served = types.filter { $0.group == group && $0.versions.contains(version) }
        guard !served.isEmpty else { return nil }
        var resources: [JSONValue] = []
        for t in served.sorted(by: { $0.plural < $1.plural }) {
            var r: [String: JSONValue] = [
                "name": .string(t.plural), "singularName": .string(t.singular), "namespaced": .bool(t.namespaced),
                "kind": .string(t.kind),
                "verbs": .array(["create", "delete", "get", "list", "patch", "update", "watch"]),
            ]
            if !t.shortNames.isEmpty { r["shortNames"] = .array(t.shortNames.map(JSONValue.string)) }
            if t.group == "metallb.io" { r["categories"] = .array(["metallb"]) }
            resources.append(.object(r))
            if t.hasStatus {
                resources.append(.object(["name": .string("\(t.plural)/status"), "singularName": "", "namespaced": .bool(t.namespaced),
                                          "kind": .string(t.kind), "verbs": .array(["get", "patch", "update"])]))
            }
        }
        if group.isEmpty {
            // core/v1 Events: the same objects as events.k8s.io/v1, in the older shape `kubectl describe` reads.
            resources.append(.object(["name": "events", "singularName": "event", "namespaced": true, "kind": "Event",
                                      "verbs": .array(["create", "get", "list", "watch"]), "shortNames": .array(["ev"])]))
        }
        return .object(["kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
                        "resources": .array(resources)])
    }

    /// `/openapi/v3`: one entry per group/version.
    static func openAPIRoot(_ types: [ResourceType]) -> JSONValue {
        var paths: [String: JSONValue] = ["api/v1": .object(["serverRelativeURL": "/openapi/v3/api/v1?hash=beacon"])]
        for (g, vs) in groups(types) {
            for v in vs { paths["apis/\(g)/\(v)"] = .object(["serverRelativeURL": .string("/openapi/v3/apis/\(g)/\(v)?hash=beacon")]) }
        }
        return .object(["paths": .object(paths)])
    }

    /// A minimal OpenAPI v3 document for a group/version: every resource path, with the `fieldValidation` and
    /// `dryRun` query parameters that kubectl looks for before relying on the server to validate.
    static func openAPIDocument(group: String, version: String, _ types: [ResourceType]) -> JSONValue? {
        let served = types.filter { $0.group == group && $0.versions.contains(version) }
        guard !served.isEmpty else { return nil }
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let params: JSONValue = .array([
            .object(["name": "fieldValidation", "in": "query", "schema": .object(["type": "string"])]),
            .object(["name": "dryRun", "in": "query", "schema": .object(["type": "string"])]),
        ])
        var paths: [String: JSONValue] = [:]
        for t in served {
            // kubectl finds the PATCH operation of a kind by this extension, then looks for `fieldValidation`.
            let gvk: JSONValue = ["group": .string(t.group), "version": .string(version), "kind": .string(t.kind)]
            let op: JSONValue = ["parameters": params, "responses": .object([:]), "x-kubernetes-group-version-kind": gvk]
            let collection = t.namespaced ? "\(prefix)/namespaces/{namespace}/\(t.plural)" : "\(prefix)/\(t.plural)"
            paths[collection] = ["post": op]
            paths["\(collection)/{name}"] = ["put": op, "patch": op]
        }
        // No component schemas: kubectl then computes strategic merge patches from its built-in types (which carry
        // the merge keys this server applies) and uses merge patches for CRs, exactly as against a real cluster.
        return .object(["openapi": "3.0.0", "info": .object(["title": "Kubernetes", "version": "v1.32.0"]),
                        "paths": .object(paths), "components": .object([:])])
    }
}

import Testing
import KubernetesModel
@testable import KubernetesEmulator

@Suite("Strategic merge patch")
struct StrategicMergePatchTests {
    static let service = """
    {"metadata":{"name":"web","finalizers":["a"],"labels":{"x":"1"}},
     "spec":{"ports":[{"port":80,"name":"http","nodePort":30000},{"port":443,"name":"https","nodePort":30001}],"selector":{"app":"web"},"ipFamilies":["IPv4"]}}
    """

    static let cases: [(name: String, kind: String, patch: String, expect: String)] = [
        ("merge a port by its key, keeping other fields", "Service", #"{"spec":{"ports":[{"port":80,"name":"web"}]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"web","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}],"selector":{"app":"web"}}}"#),
        ("add a port", "Service", #"{"spec":{"ports":[{"port":8080}]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443},{"port":8080}],"selector":{"app":"web"}}}"#),
        ("$patch: delete removes a port", "Service", #"{"spec":{"ports":[{"port":443,"$patch":"delete"}]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"http","nodePort":30000,"port":80}],"selector":{"app":"web"}}}"#),
        ("$setElementOrder drops what the order omits only via deletes; it orders", "Service",
         #"{"spec":{"$setElementOrder/ports":[{"port":443},{"port":80}]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"https","nodePort":30001,"port":443},{"name":"http","nodePort":30000,"port":80}],"selector":{"app":"web"}}}"#),
        ("a list without a merge key is replaced", "Service", #"{"spec":{"ipFamilies":["IPv6"]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv6"],"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}],"selector":{"app":"web"}}}"#),
        ("finalizers merge as a set", "Service", #"{"metadata":{"finalizers":["b","a"]}}"#,
         #"{"metadata":{"finalizers":["a","b"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}],"selector":{"app":"web"}}}"#),
        ("$deleteFromPrimitiveList removes a finalizer", "Service", #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}"#,
         #"{"metadata":{"finalizers":[],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}],"selector":{"app":"web"}}}"#),
        ("null deletes a key", "Service", #"{"metadata":{"labels":{"x":null}}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}],"selector":{"app":"web"}}}"#),
        ("$patch: replace on a map", "Service", #"{"spec":{"selector":{"app":"api","$patch":"replace"}}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}],"selector":{"app":"api"}}}"#),
        ("$retainKeys keeps only the named keys", "Service", #"{"spec":{"$retainKeys":["ports"]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ports":[{"name":"http","nodePort":30000,"port":80},{"name":"https","nodePort":30001,"port":443}]}}"#),
        ("a CR kind has no merge keys: lists are replaced", "IPAddressPool", #"{"spec":{"ports":[{"port":80}]}}"#,
         #"{"metadata":{"finalizers":["a"],"labels":{"x":"1"},"name":"web"},"spec":{"ipFamilies":["IPv4"],"ports":[{"port":80}],"selector":{"app":"web"}}}"#),
        ("an element without its merge key is an error", "Service", #"{"spec":{"ports":[{"name":"x"}]}}"#, "error"),
        ("an unknown directive is an error", "Service", #"{"$foo":1}"#, "error"),
    ]

    /// Each directive and list strategy gives what the API server would store.
    @Test("directives and list strategies", arguments: cases.indices)
    func patch(_ i: Int) throws {
        let c = Self.cases[i]
        let result: String
        do {
            result = JSONText.string(try StrategicMergePatch.apply(try JSONText.parse(c.patch), to: try JSONText.parse(Self.service), kind: c.kind),
                                     sortedKeys: true)
        } catch is StrategicMergePatch.Failure {
            result = "error"
        }
        #expect(result == c.expect, "\(c.name)")
    }
}

@Suite("Discovery and routing")
struct DiscoveryTests {
    /// Kubernetes orders versions GA > beta > alpha, higher numbers first; the first is the preferred version.
    @Test("version priority", arguments: [
        (["v1beta1", "v1beta2"], ["v1beta2", "v1beta1"]), (["v1alpha1", "v1", "v1beta1"], ["v1", "v1beta1", "v1alpha1"]),
        (["v1", "v2"], ["v2", "v1"]), (["v2beta1", "v1beta2"], ["v2beta1", "v1beta2"]),
    ])
    func priority(_ input: [String], _ expected: [String]) {
        #expect(input.sorted { Discovery.priority($0) > Discovery.priority($1) } == expected)
    }

    static func handler() throws -> APIHandler {
        APIHandler(state: try EmulatorState(store: makeStore()), serverAddress: "127.0.0.1:6443")
    }

    static func code(_ r: APIResponse) -> Int {
        if case .complete(let s, _, _) = r { return s }
        return 200
    }

    /// Paths map to the right resource, scope and subresource; anything else is a 404 Status, never a crash.
    @Test("routes", arguments: [
        ("GET", "/api", 200), ("GET", "/apis", 200), ("GET", "/api/v1", 200), ("GET", "/apis/metallb.io", 200),
        ("GET", "/apis/metallb.io/v1beta2", 200), ("GET", "/apis/metallb.io/v9", 404), ("GET", "/version", 200),
        ("GET", "/openapi/v3", 200), ("GET", "/openapi/v3/apis/metallb.io/v1beta1", 200), ("GET", "/openapi/v2", 404),
        ("GET", "/api/v1/namespaces", 200), ("GET", "/api/v1/namespaces/default", 200), ("GET", "/api/v1/namespaces/default/status", 200),
        ("GET", "/api/v1/namespaces/default/services", 200), ("GET", "/api/v1/services", 200), ("GET", "/api/v1/nodes", 200),
        ("GET", "/api/v1/namespaces/default/nodes", 404), ("GET", "/api/v1/namespaces/default/services/x/status", 404),
        ("GET", "/api/v1/namespaces/default/services/x/proxy", 404), ("GET", "/apis/metallb.io/v1beta2/ipaddresspools", 404),
        ("GET", "/apis/metallb.io/v1beta2/bgppeers", 200), ("GET", "/apis/metallb.io/v1beta1/bgppeers", 200),
        ("GET", "/api/v1/events", 200), ("GET", "/apis/events.k8s.io/v1/events", 200), ("GET", "/nope", 404),
        ("GET", "/api/v1/namespaces/default/services/a/b/c/d", 404), ("DELETE", "/api/v1/services", 405), ("GET", "/healthz", 200),
    ])
    func route(_ method: String, _ path: String, _ expected: Int) throws {
        #expect(Self.code(try Self.handler().handle(APIRequest(method: method, uri: path))) == expected)
    }

    /// Query strings are percent-decoded the way Go's url.ParseQuery does it.
    @Test("query decoding")
    func query() {
        let (path, q) = APIHandler.split("/api/v1/services?labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1&x")
        #expect(path == "/api/v1/services")
        #expect(q == ["labelSelector": "app=web,tier in (a)", "watch": "1", "x": ""])
    }
}

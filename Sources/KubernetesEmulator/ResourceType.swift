import KubernetesModel

/// A kind the emulator serves: its group, versions, plural name, scope and whether it has a status subresource.
public struct ResourceType: Hashable, Sendable {
    public var group: String
    /// Served versions; the first is the preferred (storage) version.
    public var versions: [String]
    public var plural: String
    public var singular: String
    public var kind: String
    public var namespaced: Bool
    public var hasStatus: Bool
    public var shortNames: [String]

    public init(group: String, versions: [String], plural: String, kind: String, namespaced: Bool = true,
                hasStatus: Bool = false, shortNames: [String] = []) {
        self.group = group
        self.versions = versions
        self.plural = plural
        self.singular = kind.lowercased()
        self.kind = kind
        self.namespaced = namespaced
        self.hasStatus = hasStatus
        self.shortNames = shortNames
    }

    public func apiVersion(_ version: String? = nil) -> String {
        let v = version ?? versions[0]
        return group.isEmpty ? v : "\(group)/\(v)"
    }

    /// `services` or `ipaddresspools.metallb.io`, as the API server names resources in messages.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }

    public var key: Key { Key(group: group, plural: plural) }

    public struct Key: Hashable, Sendable, Comparable {
        public var group: String
        public var plural: String
        public static func < (l: Key, r: Key) -> Bool { (l.group, l.plural) < (r.group, r.plural) }
    }

    /// Every kind Beacon and `kubectl` need: the built-in ones Beacon reads or writes, and every metallb.io kind.
    public static let catalog: [ResourceType] = [
        ResourceType(group: "", versions: ["v1"], plural: "services", kind: "Service", hasStatus: true, shortNames: ["svc"]),
        ResourceType(group: "", versions: ["v1"], plural: "nodes", kind: "Node", namespaced: false, hasStatus: true, shortNames: ["no"]),
        ResourceType(group: "", versions: ["v1"], plural: "namespaces", kind: "Namespace", namespaced: false, hasStatus: true, shortNames: ["ns"]),
        ResourceType(group: "", versions: ["v1"], plural: "secrets", kind: "Secret"),
        ResourceType(group: "", versions: ["v1"], plural: "configmaps", kind: "ConfigMap", shortNames: ["cm"]),
        ResourceType(group: "", versions: ["v1"], plural: "pods", kind: "Pod", hasStatus: true, shortNames: ["po"]),
        ResourceType(group: "discovery.k8s.io", versions: ["v1"], plural: "endpointslices", kind: "EndpointSlice"),
        ResourceType(group: "events.k8s.io", versions: ["v1"], plural: "events", kind: "Event", shortNames: ["ev"]),
        ResourceType(group: "coordination.k8s.io", versions: ["v1"], plural: "leases", kind: "Lease"),
        // What deploy/ installs, so its rendered manifests can be applied (stored; nothing runs them).
        ResourceType(group: "", versions: ["v1"], plural: "serviceaccounts", kind: "ServiceAccount", shortNames: ["sa"]),
        ResourceType(group: "apps", versions: ["v1"], plural: "deployments", kind: "Deployment", hasStatus: true, shortNames: ["deploy"]),
        ResourceType(group: "apps", versions: ["v1"], plural: "daemonsets", kind: "DaemonSet", hasStatus: true, shortNames: ["ds"]),
        ResourceType(group: "rbac.authorization.k8s.io", versions: ["v1"], plural: "roles", kind: "Role"),
        ResourceType(group: "rbac.authorization.k8s.io", versions: ["v1"], plural: "rolebindings", kind: "RoleBinding"),
        ResourceType(group: "rbac.authorization.k8s.io", versions: ["v1"], plural: "clusterroles", kind: "ClusterRole", namespaced: false),
        ResourceType(group: "rbac.authorization.k8s.io", versions: ["v1"], plural: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false),
        ResourceType(group: "apiextensions.k8s.io", versions: ["v1"], plural: "customresourcedefinitions", kind: "CustomResourceDefinition",
                     namespaced: false, hasStatus: true, shortNames: ["crd", "crds"]),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "ipaddresspools", kind: "IPAddressPool", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "l2advertisements", kind: "L2Advertisement", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "bgpadvertisements", kind: "BGPAdvertisement", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta2", "v1beta1"], plural: "bgppeers", kind: "BGPPeer", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "communities", kind: "Community", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "bfdprofiles", kind: "BFDProfile", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "servicel2statuses", kind: "ServiceL2Status", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "servicebgpstatuses", kind: "ServiceBGPStatus", hasStatus: true),
        ResourceType(group: "metallb.io", versions: ["v1beta1"], plural: "configurationstates", kind: "ConfigurationState", hasStatus: true),
        ResourceType(group: "frrk8s.metallb.io", versions: ["v1beta1"], plural: "bgpsessionstates", kind: "BGPSessionState", hasStatus: true),
    ]
}

import KubernetesModel

extension ConfigurationLoader {
    /// Validates objects listed from the Kubernetes API (metallb.io CRs, and the Secrets BGPPeers refer to) as one
    /// configuration. Server-side fields (status, resourceVersion, managedFields, ...) are not configuration and are
    /// dropped first, so an object's status update never changes the result. `source` names the objects in errors.
    public func load(objects: [JSONValue], source: String) throws(ConfigurationError) -> LoadedConfiguration {
        let items = objects.map { item -> JSONValue in
            var o = item
            o["status"] = nil
            o["metadata"] = ["name": item["metadata"]?["name"] ?? "", "namespace": item["metadata"]?["namespace"] ?? "",
                             "labels": item["metadata"]?["labels"] ?? .object([:])]
            return o
        }
        return try load([ConfigSource(name: source, text: JSONText.string(["apiVersion": "v1", "kind": "List", "items": .array(items)]))])
    }
}

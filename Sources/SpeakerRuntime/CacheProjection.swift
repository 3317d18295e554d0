import KubernetesModel

/// What the speaker keeps of the objects it watches: the fields the planner and the status writer read, nothing
/// else (ports, cluster IPs, selectors, managed fields and most annotations go). With 10,000 Services the caches are
/// most of a speaker's memory, so this is what keeps it small.
enum CacheProjection {
    /// The annotations the planner reads.
    static let serviceAnnotations: Set<String> = ["metallb.io/ip-allocated-from-pool", "metallb.io/allow-shared-ip",
                                                  "metallb.universe.tf/allow-shared-ip"]

    @Sendable static func service(_ s: Service) -> Service {
        var meta = ObjectMeta(name: s.metadata.name, namespace: s.metadata.namespace)
        meta.uid = s.metadata.uid
        meta.resourceVersion = s.metadata.resourceVersion
        meta.labels = s.metadata.labels
        if let a = s.metadata.annotations?.filter({ serviceAnnotations.contains($0.key) }), !a.isEmpty { meta.annotations = a }
        var spec = ServiceSpec()
        spec.type = s.spec.type
        spec.loadBalancerClass = s.spec.loadBalancerClass
        spec.externalTrafficPolicy = s.spec.externalTrafficPolicy
        var out = Service(metadata: meta, spec: spec)
        out.apiVersion = nil
        out.kind = nil
        if let ingress = s.status?.loadBalancer?.ingress { out.status = ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: ingress)) }
        return out
    }

    @Sendable static func endpointSlice(_ e: EndpointSlice) -> EndpointSlice {
        var meta = ObjectMeta(name: e.metadata.name, namespace: e.metadata.namespace)
        meta.resourceVersion = e.metadata.resourceVersion
        if let service = e.serviceName { meta.labels = [EndpointSlice.serviceNameLabel: service] }
        var out = EndpointSlice(metadata: meta, addressType: e.addressType,
                                endpoints: e.endpoints.map { Endpoint(addresses: [], conditions: $0.conditions, nodeName: $0.nodeName) })
        out.apiVersion = nil
        out.kind = nil
        return out
    }
}

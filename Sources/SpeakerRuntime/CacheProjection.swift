import KubernetesClient
import KubernetesModel

/// What the speaker keeps of the objects it watches: the fields the planner and the status writer read, in records
/// that hold only those fields and rebuild the object when read (ports, cluster IPs, selectors, managed fields and most
/// annotations go). With 10,000 Services the caches are most of a speaker's heap: a whole Service struct is about 400
/// bytes inline even with its fields nil, these records about 150.
enum CacheProjection {
    /// The annotations the planner reads.
    static let serviceAnnotations: Set<String> = ["metallb.io/ip-allocated-from-pool", "metallb.io/allow-shared-ip",
                                                  "metallb.universe.tf/allow-shared-ip"]

    @Sendable static func service(_ s: Service) -> any CachedObject<Service> { ServiceRecord(s) }

    @Sendable static func endpointSlice(_ e: EndpointSlice) -> any CachedObject<EndpointSlice> { EndpointSliceRecord(e) }

    final class ServiceRecord: CachedObject {
        let namespace: String?
        let name: String?
        let uid: String?
        let resourceVersion: String?
        let labels: [String: String]?
        let annotations: [String: String]?
        let type: String?
        let loadBalancerClass: String?
        let externalTrafficPolicy: String?
        let ingress: [LoadBalancerIngress]?

        init(_ s: Service) {
            namespace = s.metadata.namespace
            name = s.metadata.name
            uid = s.metadata.uid
            resourceVersion = s.metadata.resourceVersion
            labels = s.metadata.labels
            let a = s.metadata.annotations?.filter { CacheProjection.serviceAnnotations.contains($0.key) }
            annotations = a?.isEmpty == false ? a : nil
            type = s.spec.type
            loadBalancerClass = s.spec.loadBalancerClass
            externalTrafficPolicy = s.spec.externalTrafficPolicy
            ingress = s.status?.loadBalancer?.ingress
        }

        var object: Service {
            var meta = ObjectMeta(name: name, namespace: namespace, labels: labels)
            meta.uid = uid
            meta.resourceVersion = resourceVersion
            meta.annotations = annotations
            var spec = ServiceSpec(type: type)
            spec.loadBalancerClass = loadBalancerClass
            spec.externalTrafficPolicy = externalTrafficPolicy
            var out = Service(metadata: meta, spec: spec, status: ingress.map { ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: $0)) })
            out.apiVersion = nil
            out.kind = nil
            return out
        }
    }

    final class EndpointSliceRecord: CachedObject {
        let namespace: String?
        let name: String?
        let resourceVersion: String?
        let service: String?
        let addressType: String
        /// Each endpoint's node and conditions (the addresses are not needed).
        let endpoints: [Endpoint]

        init(_ e: EndpointSlice) {
            namespace = e.metadata.namespace
            name = e.metadata.name
            resourceVersion = e.metadata.resourceVersion
            service = e.serviceName
            addressType = e.addressType
            endpoints = e.endpoints.map { Endpoint(addresses: [], conditions: $0.conditions, nodeName: $0.nodeName) }
        }

        var object: EndpointSlice {
            var meta = ObjectMeta(name: name, namespace: namespace, labels: service.map { [EndpointSlice.serviceNameLabel: $0] })
            meta.resourceVersion = resourceVersion
            var out = EndpointSlice(metadata: meta, addressType: addressType, endpoints: endpoints)
            out.apiVersion = nil
            out.kind = nil
            return out
        }
    }
}

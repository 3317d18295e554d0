/// KubernetesModel holds the shapes of the Kubernetes objects Beacon reads and writes, as Codable value types,
/// and the API's syntax rules for names, labels and selectors. It does no I/O and knows nothing of MetalLB.
public enum KubernetesModel {}

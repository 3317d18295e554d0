/// LoadBalancerConfig owns Beacon's configuration: the `metallb.io` custom resources (IPAddressPool,
/// L2Advertisement, BGPAdvertisement, BGPPeer v1beta1/v1beta2, Community, BFDProfile), MetalLB's legacy
/// ConfigMap format, their decoding from YAML or JSON, and all-or-nothing validation into an immutable
/// `Configuration`.
///
/// Validation reports every problem at once, each naming the object and field. Nothing here does I/O, logs or
/// counts: callers read files or watch the API, and log, count and publish what this module returns.
public enum LoadBalancerConfig {}

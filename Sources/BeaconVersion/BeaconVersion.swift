/// The release every executable reports with `--version` (and the image tag the manifests name).
public enum BeaconVersion {
    public static let string = "0.1.0"
}

/// Metric families kept as plain numbers by their owner and written in Prometheus' text format when `/metrics` is
/// scraped, instead of one swift-metrics object per label set.
///
/// swift-prometheus keeps an object, its label pairs and a registry entry for every label set: about 1 KB each. The
/// speaker's per-address families (MetalLB's `metallb_speaker_announced{service,protocol,node,ip}` and the
/// `metallb_layer2_*{ip}` counters) have one label set per announced address, so with 10,000 addresses they were the
/// largest single use of the speaker's heap. Kept as a set of keys or a table of integers they cost tens of bytes.
public protocol ScrapedFamilies: Sendable {
    /// Appends `# HELP`, `# TYPE` and the samples of every family (the exposition format, version 0.0.4).
    func write(into out: inout String)
}

public enum PrometheusText {
    public enum Kind: String, Sendable { case counter, gauge }

    /// `# HELP` and `# TYPE` lines.
    public static func header(_ name: String, help: String, kind: Kind, into out: inout String) {
        out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line: `name{label="value",...} value`.
    public static func sample(_ name: String, labels: [(String, String)], value: UInt64, into out: inout String) {
        out += name
        if !labels.isEmpty {
            out += "{"
            for (i, (label, v)) in labels.enumerated() {
                if i > 0 { out += "," }
                out += label
                out += "=\""
                out += escapeLabel(v)
                out += "\""
            }
            out += "}"
        }
        out += " \(value)\n"
    }

    /// Label values escape backslash, double quote and line feed.
    public static func escapeLabel(_ s: String) -> String { escape(s, quote: true) }

    /// Help text escapes backslash and line feed.
    static func escapeHelp(_ s: String) -> String { escape(s, quote: false) }

    private static func escape(_ s: String, quote: Bool) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\n" || (quote && $0 == "\"") }) else { return s }
        var r = ""
        for c in s {
            switch c {
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\"" where quote: r += "\\\""
            default: r.append(c)
            }
        }
        return r
    }
}

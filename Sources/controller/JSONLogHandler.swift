import Foundation
import KubernetesModel
import Logging

/// `--log-format json`: one JSON object per line on standard error (`time`, `level`, `logger`, `msg`, then the
/// metadata keys), for log pipelines that parse fields.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "time": .string(ISO8601DateFormatter().string(from: Date())), "level": .string(event.level.rawValue),
            "logger": .string(label), "msg": .string("\(event.message)"),
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) { fields[k] = .string("\(v)") }
        var line = JSONText.serialize(.object(fields), sortedKeys: true)
        line.append(0x0A)
        // One write(2) per line, so lines from concurrent tasks never interleave.
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}

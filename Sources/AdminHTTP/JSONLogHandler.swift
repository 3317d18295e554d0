import Foundation
import KubernetesModel
import Logging

/// `--log-format json`: one JSON object per line on standard error (`time`, `level`, `logger`, `msg`, then the
/// metadata keys), for log pipelines that parse fields.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let label: String

    public init(logLevel: Logger.Level, label: String) {
        self.logLevel = logLevel
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
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

/// The daemons' `--log-level` and `--log-format` (text or json): checks them and bootstraps swift-log once.
public enum DaemonLogging {
    public static func bootstrap(level text: String, format: String) throws(DaemonLoggingError) {
        guard let level = Logger.Level(rawValue: text) else {
            throw DaemonLoggingError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard format == "text" || format == "json" else { throw DaemonLoggingError("--log-format must be text or json") }
        let json = format == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(logLevel: level, label: label) }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

public struct DaemonLoggingError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// Names a configuration object: `IPAddressPool/edge`.
public struct ObjectReference: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var kind: String
    public var name: String

    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { "\(kind)/\(name)" }

    public static func < (l: ObjectReference, r: ObjectReference) -> Bool { (l.kind, l.name) < (r.kind, r.name) }
}

/// One problem found in a configuration: which object, which field, why, and where in the source.
///
/// `description` reads `IPAddressPool/edge: spec.addresses[1]: range 10.0.0.9-10.0.0.1 is reversed`,
/// followed by the source position and, for converted legacy objects, their origin.
public struct ConfigIssue: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable, Codable { case error, warning }

    public var severity: Severity
    /// The object the problem belongs to; nil for problems with a whole document or file.
    public var object: ObjectReference?
    /// The field path inside the object (`spec.addresses[1]`); empty for the object as a whole.
    public var field: String
    public var message: String
    public var position: SourcePosition?
    /// For objects converted from MetalLB's legacy ConfigMap: where in that format they came from.
    public var origin: String?

    public init(_ severity: Severity, object: ObjectReference?, field: String, _ message: String,
                position: SourcePosition? = nil, origin: String? = nil) {
        self.severity = severity
        self.object = object
        self.field = field
        self.message = message
        self.position = position
        self.origin = origin
    }

    /// `Kind/name: field: message`, without position or origin: the stable part tests and events use.
    public var summary: String {
        var parts: [String] = []
        if let object { parts.append(object.description) }
        if !field.isEmpty { parts.append(field) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    public var description: String {
        var s = summary
        var notes: [String] = []
        if let position { notes.append("at \(position)") }
        if let origin { notes.append("from \(origin)") }
        if !notes.isEmpty { s += " (" + notes.joined(separator: ", ") + ")" }
        return s
    }
}

/// A configuration was rejected. It carries every error (and the warnings seen on the way); none of the
/// configuration takes effect. `description` lists the errors, one per line.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var errors: [ConfigIssue]
    public var warnings: [ConfigIssue]

    public init(errors: [ConfigIssue], warnings: [ConfigIssue] = []) {
        self.errors = errors
        self.warnings = warnings
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects issues while decoding and validating.
struct IssueLog {
    var issues: [ConfigIssue] = []

    var errors: [ConfigIssue] { issues.filter { $0.severity == .error } }
    var warnings: [ConfigIssue] { issues.filter { $0.severity == .warning } }
    var hasErrors: Bool { issues.contains { $0.severity == .error } }

    mutating func error(_ object: ObjectReference?, _ field: String, _ message: String,
                        at position: SourcePosition? = nil, origin: String? = nil) {
        issues.append(ConfigIssue(.error, object: object, field: field, message, position: position, origin: origin))
    }

    mutating func warning(_ object: ObjectReference?, _ field: String, _ message: String,
                          at position: SourcePosition? = nil, origin: String? = nil) {
        issues.append(ConfigIssue(.warning, object: object, field: field, message, position: position, origin: origin))
    }
}

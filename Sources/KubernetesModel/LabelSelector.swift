/// A `metav1.LabelSelector`: every `matchLabels` pair and every expression must hold. An empty selector
/// matches everything, as the API server's `LabelSelectorAsSelector` does.
public struct LabelSelector: Hashable, Sendable, Codable, CustomStringConvertible {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelSelectorRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelSelectorRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    enum CodingKeys: String, CodingKey { case matchLabels, matchExpressions }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        matchLabels = try c.decodeIfPresent([String: String].self, forKey: .matchLabels) ?? [:]
        matchExpressions = try c.decodeIfPresent([LabelSelectorRequirement].self, forKey: .matchExpressions) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !matchLabels.isEmpty { try c.encode(matchLabels, forKey: .matchLabels) }
        if !matchExpressions.isEmpty { try c.encode(matchExpressions, forKey: .matchExpressions) }
    }

    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    /// Every problem with the selector, each as (relative field path, message). Empty when valid.
    public func problems() -> [(path: String, message: String)] {
        var out: [(String, String)] = []
        for key in matchLabels.keys.sorted() {
            if let p = NameValidation.labelKey(key) { out.append(("matchLabels", p)) }
            if let p = NameValidation.labelValue(matchLabels[key] ?? "") { out.append(("matchLabels[\(key)]", p)) }
        }
        for (i, e) in matchExpressions.enumerated() {
            let path = "matchExpressions[\(i)]"
            if let p = NameValidation.labelKey(e.key) { out.append((path + ".key", p)) }
            switch e.operator {
            case .in, .notIn:
                if e.values.isEmpty { out.append((path + ".values", "must be non-empty when operator is \(e.operator.rawValue)")) }
            case .exists, .doesNotExist:
                if !e.values.isEmpty { out.append((path + ".values", "must be empty when operator is \(e.operator.rawValue)")) }
            }
            for (j, v) in e.values.enumerated() {
                if let p = NameValidation.labelValue(v) { out.append((path + ".values[\(j)]", p)) }
            }
        }
        return out
    }

    /// Evaluates the selector against a label set.
    public func matches(_ labels: [String: String]) -> Bool {
        for (k, v) in matchLabels where labels[k] != v { return false }
        for e in matchExpressions where !e.matches(labels) { return false }
        return true
    }

    /// The selector in `kubectl -l` syntax: `a=b,c in (x,y),!d`.
    public var description: String {
        var parts = matchLabels.keys.sorted().map { "\($0)=\(matchLabels[$0] ?? "")" }
        for e in matchExpressions {
            switch e.operator {
            case .in: parts.append("\(e.key) in (\(e.values.sorted().joined(separator: ",")))")
            case .notIn: parts.append("\(e.key) notin (\(e.values.sorted().joined(separator: ",")))")
            case .exists: parts.append(e.key)
            case .doesNotExist: parts.append("!\(e.key)")
            }
        }
        return parts.joined(separator: ",")
    }
}

/// One `matchExpressions` entry.
public struct LabelSelectorRequirement: Hashable, Sendable, Codable {
    public enum Operator: String, Hashable, Sendable, Codable, CaseIterable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    public var key: String
    public var `operator`: Operator
    public var values: [String]

    public init(key: String, operator: Operator, values: [String] = []) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    enum CodingKeys: String, CodingKey { case key, `operator`, values }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        `operator` = try c.decode(Operator.self, forKey: .operator)
        values = try c.decodeIfPresent([String].self, forKey: .values) ?? []
    }

    public func matches(_ labels: [String: String]) -> Bool {
        switch `operator` {
        case .in: return labels[key].map { values.contains($0) } ?? false
        case .notIn: return labels[key].map { !values.contains($0) } ?? true
        case .exists: return labels[key] != nil
        case .doesNotExist: return labels[key] == nil
        }
    }
}

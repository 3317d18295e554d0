/// Parses the selector syntax of `kubectl -l` and the API's `labelSelector` query parameter:
/// `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, joined by commas.
extension LabelSelector {
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var selector: String
        public var message: String
        public var description: String { "unable to parse requirement in \"\(selector)\": \(message)" }
    }

    public init(parsing text: String) throws(ParseError) {
        self.init()
        func fail(_ m: String) -> ParseError { ParseError(selector: text, message: m) }
        for part in Self.splitRequirements(text) {
            let req = part.trimmingSpaces()
            if req.isEmpty { continue }
            if req.hasPrefix("!") {
                let key = String(req.dropFirst()).trimmingSpaces()
                guard !key.isEmpty else { throw fail("\"!\" needs a key") }
                matchExpressions.append(.init(key: key, operator: .doesNotExist))
                continue
            }
            if let r = req.firstRange(of: " notin ") ?? req.firstRange(of: " in ") {
                let key = String(req[..<r.lowerBound]).trimmingSpaces()
                let op: LabelSelectorRequirement.Operator = req[r].contains("notin") ? .notIn : .in
                let rest = String(req[r.upperBound...]).trimmingSpaces()
                guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw fail("expected a parenthesised list after \(op == .in ? "in" : "notin")") }
                let values = rest.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
                guard !values.contains(where: { $0.isEmpty }) || values == [""] else { throw fail("empty value in \(rest)") }
                matchExpressions.append(.init(key: key, operator: op, values: values == [""] ? [] : values))
                continue
            }
            if let r = req.firstRange(of: "!=") {
                matchExpressions.append(.init(key: String(req[..<r.lowerBound]).trimmingSpaces(), operator: .notIn,
                                              values: [String(req[r.upperBound...]).trimmingSpaces()]))
                continue
            }
            if let r = req.firstRange(of: "==") ?? req.firstRange(of: "=") {
                matchExpressions.append(.init(key: String(req[..<r.lowerBound]).trimmingSpaces(), operator: .in,
                                              values: [String(req[r.upperBound...]).trimmingSpaces()]))
                continue
            }
            if req.contains(">") || req.contains("<") { throw fail("the Gt and Lt operators are not supported for labels") }
            if req.contains(" ") || req.contains("(") { throw fail("unexpected \"\(req)\"") }
            matchExpressions.append(.init(key: req, operator: .exists))
        }
        let problems = problems()
        if let p = problems.first { throw fail("\(p.path): \(p.message)") }
    }

    /// Splits on commas outside parentheses.
    static func splitRequirements(_ text: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0
        for c in text {
            switch c {
            case "(": depth += 1; current.append(c)
            case ")": depth -= 1; current.append(c)
            case "," where depth == 0: parts.append(current); current = ""
            default: current.append(c)
            }
        }
        parts.append(current)
        return parts
    }
}

/// A field selector (`metadata.name=web,metadata.namespace!=kube-system`).
public struct FieldSelector: Hashable, Sendable {
    public struct Requirement: Hashable, Sendable {
        public var field: String
        public var equals: Bool
        public var value: String
    }

    public var requirements: [Requirement]

    public init(parsing text: String) throws(LabelSelector.ParseError) {
        requirements = []
        for part in text.split(separator: ",") {
            let req = String(part).trimmingSpaces()
            if let r = req.firstRange(of: "!=") {
                requirements.append(.init(field: String(req[..<r.lowerBound]), equals: false, value: String(req[r.upperBound...])))
            } else if let r = req.firstRange(of: "==") ?? req.firstRange(of: "=") {
                requirements.append(.init(field: String(req[..<r.lowerBound]), equals: true, value: String(req[r.upperBound...])))
            } else {
                throw LabelSelector.ParseError(selector: text, message: "field selector \"\(req)\" needs = or !=")
            }
        }
    }

    /// Evaluates against a field lookup (nil when the object has no such field: treated as "").
    public func matches(_ field: (String) -> String?) -> Bool {
        requirements.allSatisfy { r in (field(r.field) ?? "") == r.value ? r.equals : !r.equals }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

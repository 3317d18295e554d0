extension LabelSelector {
    /// Whether some label set could satisfy both selectors. Conservative: it answers false only when the two
    /// contradict each other outright (a key required with different values, disjoint `In` sets, `Exists`
    /// against `DoesNotExist`), so "true" means "may overlap".
    public func mayOverlap(_ other: LabelSelector) -> Bool {
        // Per key: the allowed values (nil = any), whether the key must exist, must not exist, and excluded values.
        struct Constraint {
            var allowed: Set<String>? = nil
            var mustExist = false
            var mustNotExist = false
            var excluded: Set<String> = []
        }
        var constraints: [String: Constraint] = [:]
        func add(_ selector: LabelSelector) {
            for (k, v) in selector.matchLabels {
                var c = constraints[k] ?? Constraint()
                c.allowed = (c.allowed ?? [v]).intersection([v])
                c.mustExist = true
                constraints[k] = c
            }
            for e in selector.matchExpressions {
                var c = constraints[e.key] ?? Constraint()
                switch e.operator {
                case .in:
                    c.allowed = (c.allowed ?? Set(e.values)).intersection(e.values)
                    c.mustExist = true
                case .notIn: c.excluded.formUnion(e.values)
                case .exists: c.mustExist = true
                case .doesNotExist: c.mustNotExist = true
                }
                constraints[e.key] = c
            }
        }
        add(self)
        add(other)
        for c in constraints.values {
            if c.mustExist && c.mustNotExist { return false }
            if let allowed = c.allowed, allowed.subtracting(c.excluded).isEmpty { return false }
        }
        return true
    }
}

extension Array where Element == LabelSelector {
    /// For "one of these selectors" lists where empty means "everything": whether some label set could be
    /// selected by both lists.
    public func mayOverlap(_ other: [LabelSelector]) -> Bool {
        if isEmpty || other.isEmpty { return true }
        return contains { a in other.contains { b in a.mayOverlap(b) } }
    }
}

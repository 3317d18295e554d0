import KubernetesModel

/// core/v1 Events and events.k8s.io/v1 Events are one resource in two shapes on the real API server; the emulator
/// stores the events.k8s.io shape and converts, so `kubectl describe` (which reads core/v1) shows what Beacon wrote.
enum EventConversion {
    private static let renames: [(core: String, events: String)] = [
        ("involvedObject", "regarding"), ("message", "note"), ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"), ("reportingComponent", "reportingController"),
    ]

    static func toCore(_ event: JSONValue) -> JSONValue {
        var e = event
        for (core, ev) in renames {
            e[core] = event[ev]
            e[ev] = nil
        }
        e["apiVersion"] = "v1"
        if e["source"] == nil, let c = event["reportingController"] { e["source"] = .object(["component": c]) }
        if e["count"] == nil { e["count"] = event["series"]?["count"] ?? 1 }
        if e["lastTimestamp"] == nil || e["lastTimestamp"] == .null {
            e["lastTimestamp"] = event["series"]?["lastObservedTime"] ?? event["eventTime"] ?? event["metadata"]?["creationTimestamp"]
        }
        if e["firstTimestamp"] == nil || e["firstTimestamp"] == .null {
            e["firstTimestamp"] = event["eventTime"] ?? event["metadata"]?["creationTimestamp"]
        }
        return e
    }

    static func fromCore(_ event: JSONValue) -> JSONValue {
        var e = event
        for (core, ev) in renames {
            e[ev] = event[core]
            e[core] = nil
        }
        e["apiVersion"] = "events.k8s.io/v1"
        return e
    }
}

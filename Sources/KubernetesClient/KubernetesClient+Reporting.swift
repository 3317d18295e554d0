import Foundation
import KubernetesModel

/// The writes both daemons report with: Events about Services, and their ConfigurationState.
extension KubernetesClient {
    /// Posts an events.k8s.io/v1 Event about a Service, as `controller` (MetalLB's `metallb-controller` or
    /// `metallb-speaker`) from `instance`.
    public func postServiceEvent(namespace: String, name: String, uid: String?, reason: String, message: String, warning: Bool,
                                 controller: String, instance: String) async throws(KubernetesClientError) {
        try await postEvent(regarding: ObjectReference(apiVersion: "v1", kind: "Service", namespace: namespace, name: name, uid: uid),
                            reason: reason, message: message, warning: warning, controller: controller, instance: instance)
    }

    /// An event about any object (a BGPPeer's session, say), in the object's namespace.
    public func postEvent(regarding: ObjectReference, reason: String, message: String, warning: Bool,
                          controller: String, instance: String) async throws(KubernetesClientError) {
        let now = Date()
        let suffix = String(UInt64(now.timeIntervalSince1970 * 1_000_000), radix: 16)
        let namespace = regarding.namespace ?? "default"
        let event = Event(metadata: ObjectMeta(name: "\(regarding.name ?? "object").\(suffix)", namespace: namespace), eventTime: KubeTime.micro(now),
                          reportingController: controller, reportingInstance: instance, action: reason, reason: reason,
                          regarding: regarding, note: message, type: warning ? "Warning" : "Normal")
        try await createOnly(.events, namespace: namespace, event)
    }

    /// ConfigurationState `name` (MetalLB's `controller` or `speaker-<node>`): created when absent, its status
    /// patched when the result or error changed. `conditionType` is MetalLB's (`poolReconcilerValid`,
    /// `configReconcilerValid`).
    public func writeConfigurationState(namespace: String, name: String, component: String, conditionType: String,
                                        result: String, error: String) async throws(KubernetesClientError) {
        do {
            let current = try await get(.configurationStates, namespace: namespace, name: name)
            // Unchanged (a restart): write nothing.
            if current["status"]?["result"]?.stringValue == result, current["status"]?["errorSummary"]?.stringValue == error { return }
        } catch where error.isNotFound {
            try await create(.configurationStates, namespace: namespace,
                             ["apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState",
                              "metadata": ["name": .string(name), "labels": ["metallb.io/component": .string(component)]]])
        }
        let condition: JSONValue = ["type": .string(conditionType), "status": result == "Valid" ? "True" : "False",
                                    "reason": result == "Valid" ? "Reconciled" : "ConfigurationError",
                                    "message": .string(error), "lastTransitionTime": .string(KubeTime.seconds())]
        try await patch(.configurationStates, namespace: namespace, name: name,
                        .merge(["status": ["result": .string(result), "errorSummary": .string(error), "conditions": [condition]]]),
                        subresource: "status")
    }

    /// Creates Secret `name` with `key` set to 128 random bytes unless it exists (MetalLB's controller does this for
    /// the speakers' `memberlist` Secret). Returns true when it created the Secret; an existing one is left as it is.
    @discardableResult
    public func ensureRandomSecret(namespace: String, name: String, key: String) async throws(KubernetesClientError) -> Bool {
        do {
            _ = try await get(.secrets, namespace: namespace, name: name)
            return false
        } catch where error.isNotFound {}
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<128).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = Secret(metadata: ObjectMeta(name: name, namespace: namespace, labels: ["app.kubernetes.io/part-of": "beacon"]),
                            type: "Opaque", data: [key: Data(bytes).base64EncodedString()])
        do {
            try await createOnly(.secrets, namespace: namespace, secret)
            return true
        } catch where error.isAlreadyExists {
            return false  // Another replica made it first.
        }
    }
}

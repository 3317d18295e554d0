import Foundation
@testable import LoadBalancerConfig

/// Loads YAML text and returns the error summaries (`Kind/name: field: message`), sorted; empty when valid.
func errors(_ yaml: String, _ implementation: ValidationOptions.BGPImplementation = .beacon, secrets: Bool? = nil) -> [String] {
    let loader = ConfigurationLoader(options: ValidationOptions(bgpImplementation: implementation, secretsProvided: secrets))
    do {
        _ = try loader.load([ConfigSource(name: "test.yaml", text: yaml)])
        return []
    } catch {
        return error.errors.map(\.summary).sorted()
    }
}

/// Loads YAML text that must be valid; returns the configuration and the warning summaries.
func load(_ yaml: String, _ implementation: ValidationOptions.BGPImplementation = .beacon) throws -> (Configuration, [String]) {
    let loader = ConfigurationLoader(options: ValidationOptions(bgpImplementation: implementation))
    let loaded = try loader.load([ConfigSource(name: "test.yaml", text: yaml)])
    return (loaded.configuration, loaded.warnings.map(\.summary))
}

/// Warnings of a load, valid or not.
func warnings(_ yaml: String, _ implementation: ValidationOptions.BGPImplementation = .beacon) -> [String] {
    let loader = ConfigurationLoader(options: ValidationOptions(bgpImplementation: implementation))
    do {
        return try loader.load([ConfigSource(name: "test.yaml", text: yaml)]).warnings.map(\.summary)
    } catch {
        return error.warnings.map(\.summary)
    }
}

/// One metallb.io object in YAML; `spec` is a flow or block mapping body placed under `spec:`.
func object(_ kind: String, _ name: String, _ spec: String, version: String = "v1beta1") -> String {
    """
    apiVersion: metallb.io/\(version)
    kind: \(kind)
    metadata:
      name: \(name)
      namespace: metallb-system
    spec: \(spec)
    """
}

func pool(_ name: String, _ addresses: [String], _ extra: String = "") -> String {
    let list = addresses.map { "\"\($0)\"" }.joined(separator: ", ")
    return object("IPAddressPool", name, "{addresses: [\(list)]\(extra.isEmpty ? "" : ", " + extra)}")
}

func peer(_ name: String, _ spec: String) -> String { object("BGPPeer", name, spec, version: "v1beta2") }

func docs(_ objects: String...) -> String { objects.joined(separator: "\n---\n") }

/// Test fixtures shipped with this target.
func fixture(_ path: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + path, withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
}

func fixtureURLs(_ directory: String) throws -> [URL] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + directory, withExtension: nil))
    return try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "yaml" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
}

import Testing

import BeaconVersion
import ArgumentParser
import BeaconLab
import Foundation

/// `beacon-lab`: the on-prem site in network namespaces, for the demo, hands-on use and the tests.
@main
struct BeaconLabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-lab",
        abstract: "Build a small on-prem site from network namespaces and run Beacon in it (root).",
        version: BeaconVersion.string,
        subcommands: [Demo.self, Up.self, Down.self, Status.self, Fail.self, Heal.self, Backend.self, ForgeMembership.self])
}

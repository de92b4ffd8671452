import Foundation

extension Verb {
    static let diffProfiles = Verb(
        CommandSpec(
            "rgov diff-profiles",
            summary: "judge the missions in STATE under two profiles and print where they differ; writes nothing",
            arguments: [
                ArgumentSpec("PROFILE_A", "a profile id or file"), ArgumentSpec("PROFILE_B", "a profile id or file"),
            ],
            shared: [.state, .capabilities, .now, .json],
            exits: [(.noInput, "no missions"), (.configuration, "a profile is refused")],
            example: "rgov diff-profiles standard-team-mode strict-manager-mode --state state")
    ) { options in
        let root = try PackageRoot.locate()
        let packs = try Deployment.loadPacks(root: root)
        let layout = StateLayout(root: options.stateDirectory)
        guard Sys.isDirectory(layout.missions) else { throw RgovError(.noInput, "no missions at \(layout.missions)") }
        let clock = try options.clock()
        let deployments = try options.positionals.map { name -> Deployment in
            let profile = try Deployment.loadProfile(name, root: root)
            let descriptor = try Deployment.loadDescriptor(
                options.value("capabilities") ?? profile.capabilityDescriptor, root: root)
            return try Deployment(
                layout: layout, profile: profile, descriptor: descriptor, clock: clock, availablePacks: packs)
        }
        let report = try ProfileDiff.compare(deployments[0], deployments[1], now: clock.now())
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(report) : ProfileDiff.describe(report)) + "\n")
        return 0
    }
}

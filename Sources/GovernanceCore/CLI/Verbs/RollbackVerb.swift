import Foundation

extension Verb {
    /// `rgov rollback`: back to the last known-good profile, validated again.
    static let rollback = Verb(
        CommandSpec(
            "rgov rollback", summary: "restore the previous known-good profile of this state, validated again",
            options: [
                OptionSpec("by", value: "NAME", "who rolls back; required"),
                OptionSpec("reason", value: "TEXT", "why; required"),
            ],
            shared: SharedOption.authority,
            exits: [
                (.noInput, "nothing to roll back to"), (.noPermission, "not an operator of the profile in force"),
                (.configuration, "the profile is refused"),
            ],
            example: "rgov rollback --by bob --reason \"too noisy\"")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        let desk = try OperatorDesk.forVerb(options)
        try desk.authorize("rollback", target: layout.root, reason: options.value("reason"))
        let root = try PackageRoot.locate()
        let packs = try Deployment.loadPacks(root: root)
        let event = try lifecycle.rollback(by: options.value("by") ?? "", reason: options.value("reason") ?? "") {
            profile in
            let descriptor = try Deployment.loadDescriptor(
                profile.capabilityDescriptor, root: root)
            let deployment = try Deployment(
                layout: layout, profile: profile, descriptor: descriptor, clock: try options.clock(),
                availablePacks: packs)
            try deployment.layout.prepare()
            return deployment
        }
        try desk.record(
            "rollback", target: event.profile, reason: options.value("reason"),
            result: "rolled back to sha256 \(event.snapshot_sha256)")
        options.emit(
            event, "rolled back to \(event.profile) (sha256 \(event.snapshot_sha256.prefix(12))) as \(event.event_id)")
        return 0
    }
}

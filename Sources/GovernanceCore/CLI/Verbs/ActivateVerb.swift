import Foundation

extension Verb {
    static let activate = Verb(
        CommandSpec(
            "rgov activate", summary: "validate PROFILE, snapshot it, and make it the default for this state",
            arguments: [ArgumentSpec("PROFILE", "a profile id or file")],
            options: [.by("who activates it; required"), .requiredReason],
            shared: SharedOption.authority,
            exits: [
                (.noPermission, "not an operator of the profile in force"), (.configuration, "the profile is refused"),
            ],
            example: "rgov activate strict-manager-mode --by alice --reason \"audit week\"")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        // Changing the profile (and with it the operator list) is an operator action under the old one.
        let desk = try OperatorDesk.forVerb(options)
        try desk.authorize("activate", target: options.argument, reason: options.value("reason"))
        let deployment = try Deployment.candidate(options, profile: options.argument)
        if desk.deployment.profile.activationRequiresApproval || deployment.profile.activationRequiresApproval {
            return try Verb.requestActivation(.activate, deployment, lifecycle: lifecycle, desk: desk, options: options)
        }
        let event = try lifecycle.activate(
            deployment, by: options.value("by") ?? "", reason: options.value("reason") ?? "")
        try desk.record(
            "activate", target: event.profile, reason: options.value("reason"),
            result: "activated sha256 \(event.snapshot_sha256)")
        options.emit(
            event, "activated \(event.profile) (sha256 \(event.snapshot_sha256.prefix(12))) as \(event.event_id)")
        return 0
    }
}

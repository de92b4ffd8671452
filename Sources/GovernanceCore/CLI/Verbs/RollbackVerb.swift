import Foundation

extension Verb {
    static let rollback = Verb(
        CommandSpec(
            "rgov rollback", summary: "restore the previous known-good profile of this state, validated again",
            discussion: """
                The profile it returns to is the most recent earlier one put in force on this state (by rgov
                activate, rgov approve activation or rgov init) that still validates; validations, simulations and
                evaluations recorded since do not change which. On a production state a rollback needs no new
                evaluation: it returns to a profile that already ran here. A rollback with nothing to return to is
                recorded as refused.
                """,
            options: [.by("who rolls back; required"), .requiredReason],
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
        let reason = options.value("reason") ?? ""
        let validate = try Verb.profileValidator(layout: layout, options: options)
        let target: Deployment
        do {
            target = try lifecycle.rollbackTarget(validate: validate)
        } catch let error as RgovError {
            let active = lifecycle.active()
            try lifecycle.note(
                LifecycleRecord(
                    action: .rollback, profile: active?.profile, profileSHA256: active?.snapshot_sha256,
                    by: desk.identity.by, result: .refused, reasons: [error.message]))
            throw error
        }
        if desk.deployment.profile.activationRequiresApproval || target.profile.activationRequiresApproval {
            return try Verb.requestActivation(.rollback, target, lifecycle: lifecycle, desk: desk, options: options)
        }
        let event = try lifecycle.rollback(by: options.value("by") ?? "", reason: reason, validate: validate)
        try desk.record(
            "rollback", target: event.profile, reason: reason, result: "rolled back to sha256 \(event.snapshot_sha256)")
        options.emit(
            event, "rolled back to \(event.profile) (sha256 \(event.snapshot_sha256.prefix(12))) as \(event.event_id)")
        return 0
    }

    /// Checks a stored profile against this runtime, as a stage would before acting on it.
    static func profileValidator(layout: StateLayout, options: Options) throws -> (DeploymentProfile) throws ->
        Deployment
    {
        let root = try PackageRoot.locate()
        let packs = try Deployment.loadPacks(root: root)
        let clock = try options.clock()
        return { stored in
            // A stored profile holds no secrets: the local layer supplies them, as for any stage.
            var profile = stored
            try LocalBindings.apply(
                to: &profile, stateDirectory: layout.root, environment: ProcessInfo.processInfo.environment)
            let descriptor = try Deployment.loadDescriptor(profile.capabilityDescriptor, root: root)
            let deployment = try Deployment(
                layout: layout, profile: profile, descriptor: descriptor, clock: clock, availablePacks: packs)
            try deployment.layout.prepare()
            return deployment
        }
    }

    /// Where a profile change needs a second operator: records the request and says how to approve it.
    static func requestActivation(
        _ action: ProfileLifecycleEvent.Action, _ deployment: Deployment, lifecycle: ProfileLifecycle,
        desk: OperatorDesk, options: Options, evaluationBundle: String? = nil
    ) throws -> Int32 {
        let pending = try lifecycle.request(
            action, deployment, by: options.value("by") ?? "", reason: options.value("reason") ?? "",
            evaluationBundle: evaluationBundle)
        try lifecycle.note(
            LifecycleRecord(
                action: action == .activate ? .activate : .rollback, profile: pending.profile,
                profileSHA256: pending.snapshot_sha256, by: pending.by, result: .requested,
                reasons: ["waits for a second operator: rgov approve activation \(pending.activation_id)"],
                inputs: ["profile": pending.snapshot_sha256], activationID: pending.activation_id))
        try desk.record(
            action.rawValue, target: pending.profile, reason: pending.reason,
            result: "requested as \(pending.activation_id); waits for a second operator")
        options.emit(
            pending,
            "\(action.rawValue) of \(pending.profile) requested as \(pending.activation_id); nothing changed yet.\n"
                + "A different operator puts it in force: rgov approve activation \(pending.activation_id) --by NAME --reason TEXT"
        )
        return 0
    }
}

import Foundation

extension Verb {
    static let activate = Verb(
        CommandSpec(
            "rgov activate", summary: "validate PROFILE, snapshot it, and make it the default for this state",
            discussion: """
                On a production state (made by rgov init with environment production) PROFILE needs a passing
                evaluation of exactly its sha256: one made on this state (rgov evaluate PROFILE), or one carried in an
                audit bundle exported from a staging state (--evaluation BUNDLE, verified as rgov verify does, its
                signature checked against --allowed-signers when given). A profile whose max_autonomy_tier is above
                assisted, or that does not enable the writeback-approval pack, needs the staging one: an evaluation
                made on production does not cover it. Refused without it (exit 78, naming the evidence missing;
                nothing changes, and the refusal is recorded). Local and staging states need no evaluation. Where
                the profile requires approval, the request is checked now and again when it is approved.
                """,
            arguments: [ArgumentSpec("PROFILE", "a profile id or file")],
            options: [
                .by("who activates it; required"), .requiredReason,
                OptionSpec(
                    "evaluation", value: "BUNDLE",
                    "on a production state: an audit bundle (folder or .tar) from a staging state holding a passing "
                        + "evaluation of PROFILE"),
                OptionSpec(
                    "allowed-signers", value: "FILE",
                    "with --evaluation: the bundle must be signed by a key in this ssh allowed-signers file"),
            ],
            shared: SharedOption.authority,
            exits: [
                (.noPermission, "not an operator of the profile in force"),
                (.configuration, "the profile is refused, or a production state lacks the evaluation it needs"),
            ],
            example: "rgov activate strict-manager-mode --by alice --reason \"audit week\"")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        // Changing the profile (and with it the operator list) is an operator action under the old one.
        let desk = try OperatorDesk.forVerb(options)
        try desk.authorize("activate", target: options.argument, reason: options.value("reason"))
        let deployment = try Deployment.candidate(options, profile: options.argument)
        let evidence = try Verb.admitted(
            deployment, action: .activate, lifecycle: lifecycle, desk: desk, options: options,
            bundle: options.value("evaluation"))
        if desk.deployment.profile.activationRequiresApproval || deployment.profile.activationRequiresApproval {
            return try Verb.requestActivation(
                .activate, deployment, lifecycle: lifecycle, desk: desk, options: options,
                evaluationBundle: options.value("evaluation"))
        }
        let event = try lifecycle.activate(
            deployment, by: options.value("by") ?? "", reason: options.value("reason") ?? "", evidence: evidence)
        try desk.record(
            "activate", target: event.profile, reason: options.value("reason"),
            result: "activated sha256 \(event.snapshot_sha256)"
                + (evidence.map { " on evaluation \($0.evaluation_id) (\($0.environment.rawValue))" } ?? ""))
        options.emit(
            event,
            "activated \(event.profile) (sha256 \(event.snapshot_sha256.prefix(12))) as \(event.event_id)"
                + (evidence.map { ", on evaluation \($0.evaluation_id) made in \($0.environment.rawValue)" } ?? ""))
        return 0
    }

    /// The promotion gate (`PromotionGate`) for `deployment` on this state: the evidence it is
    /// admitted on, or a refusal recorded (a lifecycle record and an operator action) and thrown.
    static func admitted(
        _ deployment: Deployment, action: LifecycleRecord.Action, lifecycle: ProfileLifecycle, desk: OperatorDesk,
        options: Options, bundle: String?
    ) throws -> PromotionEvidence? {
        let gate = PromotionGate(
            lifecycle: lifecycle, bundle: bundle, allowedSigners: options.value("allowed-signers"))
        do {
            return try gate.admit(deployment, named: action == .activate ? options.argument : nil)
        } catch let error as ConfigurationError {
            var inputs = ["profile": deployment.profile.sha256]
            if let bundle {
                let file = Sys.isDirectory(bundle) ? StateLayout.bundleManifest(bundle) : bundle
                if let data = try? Sys.readFile(file, limit: 256 << 20) {
                    inputs[Sys.isDirectory(bundle) ? "bundle_manifest" : "bundle"] = SHA256.hex(of: [UInt8](data))
                }
            }
            let record = try lifecycle.note(
                LifecycleRecord(
                    action: action, profile: deployment.profileReference, profileSHA256: deployment.profile.sha256,
                    by: desk.identity.by, result: .refused, reasons: [error.message], inputs: inputs))
            try desk.record(
                action.rawValue.replacingOccurrences(of: "_", with: " "), target: deployment.profileReference,
                reason: options.value("reason"), result: "refused as \(record.record_id): no evaluation admits it")
            throw error
        }
    }
}

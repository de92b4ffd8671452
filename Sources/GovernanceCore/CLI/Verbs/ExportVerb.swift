import Foundation

extension Verb {
    /// `rgov export`: a portable audit bundle (a folder and a .tar).
    static let export = Verb(
        CommandSpec(
            "rgov export", summary: "write an audit bundle (a folder and a .tar) for one mission or a time window",
            options: [
                OptionSpec("task", value: "ID", "the mission to export"),
                OptionSpec("since", value: "TIME", "export notices created at or after TIME (instead of --task)"),
                OptionSpec("until", value: "TIME", "with --since: and before TIME"),
                OptionSpec("out", value: "DIR", "where the bundle goes", default: "STATE/exports"),
                OptionSpec(
                    "sign", value: "KEY",
                    "sign manifest.json with this SSH private key (ssh-keygen -Y sign, namespace rgov-audit)"),
            ],
            shared: SharedOption.deployment, exits: [(.noInput, "no state folder")],
            example: "rgov export --task crm-overdue-02 --out /tmp/audit")
    ) { options in
        _ = try options.existingLayout()
        let deployment = try Deployment.load(options)
        guard options.value("task") != nil || options.value("since") != nil else {
            throw UsageError("rgov export needs --task ID or --since T [--until T]")
        }
        let result = try AuditExport(deployment: deployment).export(
            task: options.value("task"), since: try options.time("since"), until: try options.time("until"),
            to: options.value("out"), signingKey: options.value("sign"))
        options.emit(
            result,
            "exported \(result.artifacts) artifacts (\(result.notices) notices) to \(result.bundle)\n  archive \(result.tar)"
        )
        return 0
    }
}

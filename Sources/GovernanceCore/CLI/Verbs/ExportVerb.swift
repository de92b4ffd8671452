import Foundation

extension Verb {
    static let export = Verb(
        CommandSpec(
            "rgov export", summary: "write an audit bundle (a folder and a .tar) for one mission or a time window",
            discussion: """
                A bundle holds whole missions: each one's evidence chain (chains/MISSION.jsonl) and every record it
                links, with the chain heads and a root hash in manifest.json. A record a crash left unlinked is
                linked at export, marked late. A state whose chain does not continue is not exported (exit 65).
                """,
            options: [
                OptionSpec("task", value: "ID", "the mission to export"),
                OptionSpec(
                    "since", value: "TIME",
                    "export every mission with a notice created at or after TIME, whole (instead of --task)"),
                OptionSpec("until", value: "TIME", "with --since: and before TIME"),
                OptionSpec(
                    "tenant", value: "T",
                    "export every mission of tenant T (its snapshot's or its notices' tenant_id), whole; with --since: "
                        + "those with a notice in the window"),
                OptionSpec("out", value: "DIR", "where the bundle goes", default: "STATE/exports"),
                OptionSpec(
                    "sign", value: "KEY",
                    "sign manifest.json with this SSH private key (ssh-keygen -Y sign, namespace rgov-audit)"),
            ],
            shared: SharedOption.deployment,
            exits: [(.noInput, "no state folder"), (.dataError, "a mission chain of the state does not hold")],
            example: "rgov export --task crm-overdue-02 --out /tmp/audit")
    ) { options in
        _ = try options.existingLayout()
        let deployment = try Deployment.inForce(options, run: "rgov export")
        let tenant = options.value("tenant")
        guard options.value("task") != nil || options.value("since") != nil || tenant != nil else {
            throw UsageError("rgov export needs --task ID, --tenant T or --since T [--until T]")
        }
        if options.value("task") != nil, tenant != nil {
            throw UsageError("rgov export takes --task ID or --tenant T, not both")
        }
        try OperatorDesk.reader(deployment).authorizeReading(
            "export",
            target: options.value("task") ?? (tenant.map { "tenant " + $0 + " " } ?? "")
                + (options.value("since").map { "since " + $0 } ?? ""))
        let result = try AuditExport(deployment: deployment).export(
            task: options.value("task"), since: try options.time("since"), until: try options.time("until"),
            tenant: tenant, to: options.value("out"), signingKey: options.value("sign"))
        options.emit(
            result,
            "exported \(result.artifacts) artifacts (\(result.notices) notices) to \(result.bundle)\n  archive \(result.tar)"
        )
        return 0
    }
}

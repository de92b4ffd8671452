import Foundation

extension Verb {
    static let prune = Verb(
        CommandSpec(
            "rgov prune",
            summary:
                "remove finished notice chains older than spec.audit.retention_days, once exported and named by nothing live",
            options: [.by("who prunes; required"), OptionSpec("dry-run", "say what would be removed, remove nothing")],
            shared: SharedOption.authority, exits: [(.noPermission, "not an operator")],
            example: "rgov prune --by alice --dry-run")
    ) { options in
        let desk = try OperatorDesk.forVerb(options)
        let result = try desk.prune(dryRun: options.has("dry-run"))
        if !result.dry_run { try Metrics.record(desk.deployment, now: desk.deployment.clock.now()) { _ in } }
        options.emit(
            result,
            "\(result.dry_run ? "would prune" : "pruned") \(result.pruned.count) finished notices (\(result.files_removed) files) older than "
                + "\(Timestamp.format(result.cutoff)); kept \(result.kept_not_exported.count) not yet exported, "
                + "\(result.kept_referenced.count) still named by an open episode, a notice under way, an attempt "
                + "in flight or a late ack"
                + result.pruned.map { "\n  " + $0 }.joined())
        return 0
    }
}

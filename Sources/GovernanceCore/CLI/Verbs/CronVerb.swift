import Foundation

extension Verb {
    static let cron = Verb(
        CommandSpec(
            "rgov cron", summary: "install, remove or show the crontab block that runs rgov tick for one state folder",
            discussion: """
                install writes one marked block (# BEGIN rgov DIR ... # END rgov DIR) into the invoking user's crontab
                (crontab -l, crontab -), or into the crontab file given. The job runs rgov tick --state DIR and names no
                profile: the tick runs the state's active profile, so rgov activate, an approved activation and rollback
                take effect at its next run. The line carries absolute paths, umask 077, the PATH the sender binding
                needs and RGOV_HOME when set, so it runs under cron's empty environment. The state must exist (rgov
                init). With --profile, a state that has no active profile yet gets it (recorded as an activation); a
                state whose active profile differs is refused (exit 78): change it with rgov activate. Installing again
                replaces the block; other lines are kept byte for byte. remove takes the block out (exit 0 also when
                there is none); show prints its job line (exit 66 when there is none).
                """,
            arguments: [ArgumentSpec("install|remove|show", "what to do")],
            options: [
                OptionSpec("every", value: "MINUTES", "1 to 59, or whole hours (60, 120, ... 1440)", default: "2"),
                OptionSpec(
                    "log", value: "FILE", "where the tick's summary and logs go", default: "STATE/logs/tick.log"),
                OptionSpec("crontab-file", value: "FILE", "edit FILE instead of the user's crontab"),
            ],
            shared: [.state, .profile, .json],
            exits: [
                (.noInput, "no block (show), or no state (install)"), (.ioError, "crontab failed"),
                (.configuration, "profile refused, or another profile is active"),
            ],
            example: "rgov cron install --state /var/lib/rgov/state --every 2")
    ) { options in
        let action = options.argument
        guard ["install", "remove", "show"].contains(action) else {
            throw UsageError("usage: rgov cron install|remove|show --state DIR (see rgov cron --help)")
        }
        guard options.value("state") != nil || Sys.environment("RGOV_STATE_DIR") != nil else {
            throw UsageError("rgov cron \(action) needs --state DIR")
        }
        let state = Doctor.absolutePath(options.stateDirectory)
        let table = CronTable(file: options.value("crontab-file"))
        if action == "install" { try StateAccess.requireExisting(StateLayout(root: state)) }
        var current = try table.read()
        switch action {
        case "show":
            guard let line = CronSchedule.jobLine(state: state, in: current) else {
                throw RgovError(.noInput, "no rgov block for \(state) in \(table.description)")
            }
            Sys.writeStandardOutput(line + "\n")
            return 0
        case "remove":
            let (text, removed) = CronSchedule.removing(state: state, from: current)
            if removed { try table.write(text) }
            Sys.writeStandardOutput(
                (removed ? "removed the rgov block for \(state) from " : "no rgov block for \(state) in ")
                    + table.description + "\n")
            return 0
        default:
            let layout = StateLayout(root: state)
            if let named = options.namedProfile,
                ProfileLifecycle(layout: layout, clock: try options.clock()).active() == nil
            {
                // No profile in force yet: the one given becomes it, as rgov init records it.
                _ = try StateInit.create(
                    try Deployment.candidate(options), owner: nil, by: Sys.userName(),
                    reason: "rgov cron install --profile \(named.name)")
            }
            // From here rgov acts as the state's owner (root switches): the job goes into the
            // owner's crontab, and runs as the owner.
            let deployment = try Deployment.inForce(options, run: "rgov cron install")
            current = try table.read()
            let path = CronSchedule.jobPath(
                program: deployment.binding.program, searchPath: Sys.environment("PATH") ?? "/usr/bin:/bin")
            let every = try options.integer("every").map(Int.init) ?? 2
            let log = Doctor.absolutePath(options.value("log") ?? StateLayout(root: state).tickLog)
            let schedule = try CronSchedule(
                state: state, path: path, everyMinutes: every, log: log, rgov: Sys.executablePath(),
                home: Sys.environment("RGOV_HOME").map(Doctor.absolutePath))
            try Sys.makeDirectory((log as NSString).deletingLastPathComponent)
            try table.write(schedule.installing(into: current))
            Sys.writeStandardOutput(
                "installed into \(table.description):\n" + schedule.block + "it runs the active profile, "
                    + "\(deployment.profileReference); check it with: rgov doctor --state \(state)\n")
            return 0
        }
    }
}

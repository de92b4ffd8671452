import Foundation

extension Verb {
    static let doctor = Verb(
        CommandSpec(
            "rgov doctor", summary: "check a deployment; one line per check (ok, warn, fail) with the fix as a command",
            discussion: """
                Checks: data folder found (and which), environment variables, the state's active profile valid against
                the runtime's capabilities (a --profile that differs from it fails), state folder present, owned by the
                user rgov acts as (root acts as the owner), layout (every folder a folder, no link, each owned and usable
                by the owner), private modes, writable, free space, stuck locks, scheduler installed (a crontab block or
                a systemd unit for this state) and what its job does (a pinned profile, a PATH without the sender
                program, a cadence slower than the profile expects), last watchdog run recent against the profile's
                cadence, sender binding runnable (program on PATH, webhook URL well formed, env: secrets set),
                quarantine not growing, clock not behind the newest artifact. Changes nothing (a probe file is created
                and removed).
                """,
            options: [OptionSpec("crontab-file", value: "FILE", "look for the schedule in FILE instead of crontab -l")],
            shared: SharedOption.deployment, exits: [(.failure, "a check failed")],
            example: "rgov doctor --state /var/lib/rgov/state")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        // Root judges the state as its owner would find it (what the owner can reach and write).
        if Sys.effectiveUserID() == 0, Sys.exists(layout.root) { try StateAccess.actAsOwner(layout) }
        let deployment: Result<Deployment, Error> = Result { try Deployment.inForce(options, run: nil) }
        var crontab: String? = nil
        if let file = options.value("crontab-file") {
            crontab = try CronTable(file: file).read()
        } else if (try? CronTable.crontabProgram()) != nil {
            crontab = try? CronTable(file: nil).read()
        }
        let report = Doctor.examine(
            Doctor.Request(
                layout: layout, deployment: deployment, now: try options.clock().now(), crontab: crontab,
                unitFolders: PackageLayout.unitFolders(home: Sys.environment("HOME") ?? "/root"),
                environment: ProcessInfo.processInfo.environment))
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(report) : Doctor.describe(report)) + "\n")
        return report.ok ? 0 : ExitCode.failure.rawValue
    }
}

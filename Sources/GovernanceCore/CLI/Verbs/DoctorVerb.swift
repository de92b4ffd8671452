import Foundation

extension Verb {
    /// `rgov doctor`: whether this deployment is able to do its job.
    static let doctor = Verb(
        CommandSpec(
            "rgov doctor", summary: "check a deployment; one line per check (ok, warn, fail) with the fix as a command",
            discussion: """
                Checks: data folder found (and which), environment variables, profile valid against the runtime's
                capabilities, state folder present, owned by this user, private modes, writable, free space, stuck
                locks, scheduler installed (a crontab block or a systemd unit for this state), last watchdog run recent
                against the profile's cadence, sender binding runnable (program on PATH, webhook URL well formed, env:
                secrets set), quarantine not growing, clock not behind the newest artifact. Changes nothing (a probe
                file is created and removed).
                """,
            options: [OptionSpec("crontab-file", value: "FILE", "look for the schedule in FILE instead of crontab -l")],
            shared: SharedOption.deployment, exits: [(.failure, "a check failed")],
            example: "rgov doctor --state /var/lib/rgov/state --profile standard-team-mode")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        let deployment: Result<Deployment, Error> = Result { try Deployment.load(options) }
        var crontab: String? = nil
        if let file = options.value("crontab-file") {
            crontab = try CronTable(file: file).read()
        } else if (try? CronTable.crontabProgram()) != nil {
            crontab = try? CronTable(file: nil).read()
        }
        let home = Sys.environment("HOME") ?? "/root"
        let report = Doctor.examine(
            Doctor.Request(
                layout: layout, profileName: options.profileName, deployment: deployment,
                now: try options.clock().now(),
                crontab: crontab,
                unitFolders: PackageLayout.unitFolders(home: home),
                environment: ProcessInfo.processInfo.environment))
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(report) : Doctor.describe(report)) + "\n")
        return report.ok ? 0 : ExitCode.failure.rawValue
    }
}

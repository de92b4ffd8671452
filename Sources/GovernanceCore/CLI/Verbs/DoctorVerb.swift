import Foundation

/// `rgov doctor`: is this deployment able to do its job? Exit 0 when no check failed, 1 otherwise.
extension RgovCommand {
    public static let doctorHelp = """
        usage: rgov doctor [--state DIR] [--profile FILE|ID] [--crontab-file FILE] [--now TIME] [--json]

        Checks a deployment and prints one line per check (ok, warn or fail) with the fix as a
        command: data folder found (and which), environment variables, profile valid against the
        runtime's capabilities, state folder present, owned by this user, private modes, writable,
        free space, stuck locks, scheduler installed (a crontab block or a systemd unit for this
        state), last watchdog run recent against the profile's cadence, sender binding runnable
        (program on PATH, webhook URL well formed, env: secrets set), quarantine not growing, clock
        not behind the newest artifact. It changes nothing (a probe file is created and removed).

        options:
          --crontab-file FILE  look for the schedule in FILE instead of `crontab -l`

        exit: 0 nothing failed (warnings allowed), 1 a check failed, 64 usage.
        example: rgov doctor --state /var/lib/rgov/state --profile standard-team-mode
        """

    static func doctor(_ options: Options) throws -> Int32 {
        if helpRequested(options, doctorHelp) { return 0 }
        guard options.positionals.isEmpty else { throw RgovError.usage("rgov doctor takes no arguments") }
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
                unitFolders: ["/etc/systemd/system", "/usr/local/lib/systemd/system", home + "/.config/systemd/user"],
                environment: ProcessInfo.processInfo.environment))
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(report) : Doctor.describe(report)) + "\n")
        return report.ok ? 0 : ExitCode.failure.rawValue
    }
}

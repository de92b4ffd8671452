import Foundation

/// `rgov cron install|remove|show`: the crontab block that runs `rgov tick` for one state folder.
extension RgovCommand {
    public static let cronHelp = """
        usage: rgov cron install --state DIR --profile ID|FILE [--every MINUTES] [--log FILE] [--crontab-file FILE]
               rgov cron remove --state DIR [--crontab-file FILE]
               rgov cron show --state DIR [--crontab-file FILE]

        install  validates the profile, then writes one marked block (# BEGIN rgov DIR ... # END rgov DIR)
                 into the invoking user's crontab (crontab -l / crontab -), or into FILE. The job line
                 carries absolute paths, umask 077 and RGOV_HOME when set, so it runs under cron's
                 empty environment. Installing again replaces the block; other lines are kept byte
                 for byte.
        remove   takes the block for DIR out (exit 0 also when there is none).
        show     prints the job line for DIR (exit 66 when there is none).

        options:
          --every MINUTES      1 to 59, or whole hours (60, 120, ... 1440); default 2
          --log FILE           where the tick's summary and logs go; default STATE/logs/tick.log
          --crontab-file FILE  edit FILE instead of the user's crontab (tests, /etc/cron.d setups)

        exit: 0 done, 64 usage, 66 no block (show), 74 crontab failed, 78 profile refused.
        example: rgov cron install --state /var/lib/rgov/state --profile standard-team-mode --every 2
        """

    static func cron(_ options: Options) throws -> Int32 {
        if helpRequested(options, cronHelp) { return 0 }
        guard let action = options.positionals.first, options.positionals.count == 1,
            ["install", "remove", "show"].contains(action)
        else { throw RgovError.usage("usage: rgov cron install|remove|show --state DIR (see rgov cron --help)") }
        guard options.value("state") != nil || Sys.environment("RGOV_STATE_DIR") != nil else {
            throw RgovError.usage("rgov cron \(action) needs --state DIR")
        }
        let state = Doctor.absolutePath(options.stateDirectory)
        let table = CronTable(file: options.value("crontab-file"))
        let current = try table.read()
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
            guard options.value("profile") != nil else { throw RgovError.usage("rgov cron install needs --profile ID") }
            _ = try Deployment.load(options)
            var profile = options.profileName
            if profile.contains("/") { profile = Doctor.absolutePath(profile) }
            let every = try options.integer("every").map(Int.init) ?? 2
            let log = Doctor.absolutePath(options.value("log") ?? state + "/logs/tick.log")
            let schedule = try CronSchedule(
                state: state, profile: profile, everyMinutes: every, log: log, rgov: Sys.executablePath(),
                home: Sys.environment("RGOV_HOME").map(Doctor.absolutePath))
            try Sys.makeDirectory((log as NSString).deletingLastPathComponent)
            try table.write(schedule.installing(into: current))
            Sys.writeStandardOutput(
                "installed into \(table.description):\n" + schedule.block
                    + "check it with: rgov doctor --state \(state)\n")
            return 0
        }
    }
}

import Foundation

extension Verb {
    static let tick = Verb(
        CommandSpec(
            "rgov tick", summary: "run the watchdog, the dispatcher and the bridge in order, each as a child process",
            discussion: """
                Takes the tick lock (an overlapping tick exits 0 at once). A stage with nothing to do is not started: the
                dispatcher with nothing queued, the bridge with nothing to send or conclude, the watchdog when its scan
                cache says no mission changed and nothing falls due (the tick then makes and records its run from that
                cache). SIGTERM, SIGINT or SIGHUP is forwarded to the running stage and its senders; the tick then exits
                128 + the signal number. Every line of the summary starts with the time and the tick's run id.
                """,
            options: [
                OptionSpec(
                    "missions-from", value: "DIR", "first copy the mission snapshots in DIR into STATE/missions"),
                OptionSpec("stage-deadline", value: "SECONDS", "how long one stage may run", default: "the profile's"),
            ],
            shared: SharedOption.deployment,
            exits: [
                (.failure, "a stage failed"), (.cannotCreate, "state folder unusable"),
                (.configuration, "configuration refused"),
            ],
            example: "rgov tick --missions-from examples/missions --now 2026-11-20T12:00:00Z")
    ) { options in
        Shutdown.install()
        let clock = try options.clock()
        let runID = Log.newRunID("tick", at: clock.now())
        Log.configure(
            stage: "tick", runID: runID, format: try options.logFormat(), pinnedNow: clock.isPinned ? clock.now() : nil)
        if options.value("missions-from") != nil, Sys.kind(options.stateDirectory) == .missing {
            // The first command of the README is one command: a first tick that brings missions
            // makes its state, as `rgov init` would, and says so.
            let made = try StateInit.create(
                try Deployment.candidate(options), owner: nil, by: Sys.userName(),
                reason: "first rgov tick --missions-from")
            if !options.json { Sys.writeStandardOutput(StateInit.describe(made) + "\n") }
        }
        let deployment = try Deployment.inForce(options, run: "rgov tick")
        try deployment.layout.prepare()
        let lockPath = deployment.layout.lockFile("tick")
        guard
            let lock = try StageLock.acquire(
                lockPath, holder: "rgov tick pid \(Sys.processID()) since \(Timestamp.format(Date()))")
        else {
            let holder = StageLock.currentHolder(lockPath) ?? "another tick"
            Log.info("rgov", "\(lockPath) is held (\(holder)); nothing to do")
            if options.json {
                Sys.writeStandardOutput(
                    CanonicalJSON.line(["skipped": "lock_held", "lock": lockPath, "holder": holder]) + "\n")
            }
            return 0
        }
        defer { withExtendedLifetime(lock) {} }
        // The stages read the state's active profile themselves, as a scheduled stage does.
        var passThrough = ["--state", deployment.layout.root]
        if let now = options.value("now") { passThrough += ["--now", now] }
        if let capabilities = options.value("capabilities") { passThrough += ["--capabilities", capabilities] }
        let deadline =
            try options.integer("stage-deadline").map(Double.init) ?? Double(deployment.profile.stageDeadlineMs) / 1000
        if let format = try options.logFormat() { passThrough += ["--log-format", format.rawValue] }
        let binDirectory = (Sys.executablePath() as NSString).deletingLastPathComponent
        let heartbeat = Heartbeat(deployment: deployment)
        if deployment.profile.heartbeatStart {
            heartbeat.ping(.start, runID: runID, summary: "rgov tick \(runID) started")
        }
        let report = try Tick(
            deployment: deployment, runID: runID, passThrough: passThrough, binDirectory: binDirectory,
            stageDeadline: deadline,
            quietWatchdog: {
                StageCommand.quietWatchdog(
                    deployment, executable: PackageLayout.executable(Stage.watchdog.executable, in: binDirectory))
            }
        ).run(importingFrom: options.value("missions-from"))
        options.emit(report, Tick.describe(report))
        // After the summary is written: a heartbeat that fails never changes the tick's outcome.
        heartbeat.ping(report.ok ? .success : .fail, runID: runID, summary: Tick.describe(report))
        if let status = Shutdown.exitStatus { return status }
        return report.ok ? 0 : ExitCode.failure.rawValue
    }
}

import Foundation

/// What the watchdog records of its runs: the last-run record (every run), the run artifact (a
/// run that found something new), and the report; and when a run came late or under a clock set
/// back.
struct WatchdogRecord {
    let deployment: Deployment
    let writes: Writes
    let runID: String
    let now: Date
    let previous: LastRun?
    /// How much later than twice its expected interval this run came.
    let lateBy: Int?
    /// The latest time any run has seen, and how far now is behind it (nil: not behind).
    let newest: Date
    let behindBy: Int?

    struct LastRun: Codable {
        var schema = "rgov.watchdog-last-run/v1"
        var run_id: String
        var started_at: Date
        /// The latest time any run has seen: a clock set back is told from it.
        var newest_at: Date?
        /// The artifact of the latest run that recorded one (relative to the state folder): a run
        /// that found nothing new writes none, only this record, not made durable.
        var recorded_artifact: String?
        var duration_ms: Int?
        var late_by_ms: Int?
        var previous_run_at: Date?
        /// The profile that run judged under: a run under another has everything to judge again.
        var profile_sha256: String? = nil
    }

    /// The record of a run starting now, from the last run's.
    init(deployment: Deployment, writes: Writes) {
        self.deployment = deployment
        self.writes = writes
        let layout = deployment.layout
        now = deployment.clock.now()
        runID = "wdr-" + Timestamp.compact(now) + "-" + String(Sys.processID())
        // The replaced records here (last run, episode index) leave a temporary if a run dies mid-write.
        DurableFile.sweepVolatile(in: layout.watchdogRuns)
        previous = try? CanonicalJSON.decode(
            LastRun.self, from: try Sys.readFile(layout.watchdogLastRun, limit: 1 << 16))
        let expected = deployment.profile.watchdogExpectedIntervalMs
        let gap = previous.map { [now] in now.milliseconds(since: $0.started_at) }
        lateBy = gap.flatMap { $0 > 2 * expected ? Int($0 - expected) : nil }
        // The clock went back: judged against the latest time any run saw, so a condition that only
        // seems cleared because time went backwards is not reported resolved.
        newest = max(previous?.newest_at ?? previous?.started_at ?? now, now)
        behindBy = newest > now ? Int(newest.milliseconds(since: now)) : nil
    }

    /// Whether this run judges under the profile the last run judged under.
    var sameProfile: Bool { previous?.profile_sha256 == deployment.profile.sha256 }

    /// The artifact the last run that recorded one left, if it is still there.
    var recordedArtifact: String? {
        guard let recorded = previous?.recorded_artifact else { return nil }
        let path = deployment.layout.resolve(recorded)
        return Sys.kind(path) == .regular ? path : nil
    }

    /// Says once, by the first run that finds it, that the clock is behind.
    func warnIfBehind() {
        let previousWasBehind = previous.map { ($0.newest_at ?? $0.started_at) > $0.started_at } ?? false
        guard let behindBy, !previousWasBehind else { return }
        Log.info(
            Watchdog.actor,
            "warning: the clock went back \(DurationText.describe(ms: Int64(behindBy))) (now \(Timestamp.format(now)), "
                + "a run already saw \(Timestamp.format(newest))); no episode is closed until it catches up",
            ["event": .string("clock_went_back"), "behind_ms": .number(Double(behindBy))])
    }

    /// A run that found nothing new: no artifact, only the last-run record, replaced without a
    /// barrier, naming the artifact of the run that recorded one (`recordedArtifact`).
    func recordQuiet(_ tally: WatchdogTally, artifact: String, duration: Int) throws -> Watchdog.Report {
        try DurableFile.replace(
            try lastRun(naming: previous?.recorded_artifact, quietFor: duration), at: deployment.layout.watchdogLastRun)
        return report(tally, resolved: 0, duration: duration, artifact: artifact)
    }

    /// A run that found something: its artifact (with the notices by state as committed) and the
    /// last-run record naming it, both staged.
    func record(_ tally: WatchdogTally, resolved: Int, duration: Int) throws -> Watchdog.Report {
        let layout = deployment.layout
        let counts = try NoticeStore(layout: layout).counts(
            history: NoticeHistory(layout: layout, writes: writes).summary())
        let run = WatchdogRun(
            run_id: runID, parent_run_id: Log.parentRunID, profile_sha256: deployment.profile.sha256, started_at: now,
            finished_at: deployment.clock.isPinned ? now : Date(), duration_ms: duration,
            profile: deployment.profileReference, capability_descriptor: deployment.descriptorReference,
            scanned: tally.scanned, findings: tally.findingsByRule.values.reduce(0, +),
            findings_by_rule: tally.findingsByRule, notices_created: tally.created,
            notices_by_state: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            episodes_open: try layout.artifactNames(in: layout.openEpisodes).count, episodes_resolved: resolved,
            reminders: tally.reminders, escalations: tally.escalations, quarantined: tally.quarantined,
            capability_gaps: deployment.capabilityGaps, previous_run_at: previous?.started_at, late_by_ms: lateBy,
            expected_interval_ms: Int(deployment.profile.watchdogExpectedIntervalMs), clock_behind_ms: behindBy,
            environment: deployment.environment)
        let artifact = try publish(run)
        try writes.write(try lastRun(naming: layout.relative(artifact)), to: layout.watchdogLastRun, phase: .markers)
        return report(tally, resolved: resolved, duration: duration, artifact: artifact)
    }

    /// This run's last-run record, naming `artifact`; a quiet run's also keeps its own times.
    private func lastRun(naming artifact: String?, quietFor duration: Int? = nil) throws -> Data {
        let quiet = duration != nil
        return try CanonicalJSON.encodeFile(
            LastRun(
                run_id: runID, started_at: now, newest_at: newest, recorded_artifact: artifact, duration_ms: duration,
                late_by_ms: quiet ? lateBy : nil, previous_run_at: quiet ? previous?.started_at : nil,
                profile_sha256: deployment.profile.sha256))
    }

    private func publish(_ run: WatchdogRun) throws -> String {
        let folder = deployment.layout.watchdogRunFolder(day: Timestamp.day(now))
        try Sys.makeDirectory(folder)
        var artifact = deployment.layout.artifact(run.run_id, in: folder)
        var suffix = 1
        while !(try writes.create(try CanonicalJSON.encodeFile(run), at: artifact)) {
            suffix += 1
            artifact = deployment.layout.artifact(run.run_id + "-" + String(suffix), in: folder)
        }
        return artifact
    }

    private func report(_ tally: WatchdogTally, resolved: Int, duration: Int, artifact: String) -> Watchdog.Report {
        Watchdog.Report(
            run_id: runID, scanned: tally.scanned, findings: tally.findingsByRule.values.reduce(0, +),
            findings_by_rule: tally.findingsByRule, notices_created: tally.created, reminders: tally.reminders,
            escalations: tally.escalations, episodes_resolved: resolved, quarantined: tally.quarantined,
            late_by_ms: lateBy, previous_run_at: previous?.started_at, duration_ms: duration, run_artifact: artifact,
            missions_by_status_type: tally.missionsByStatusType, mission_feed_last_update: tally.feedLastUpdate,
            approval_backlog: tally.approvalBacklog,
            approval_oldest_waiting_ms: tally.oldestProposalMs.map { Timestamp.milliseconds(now) - $0 },
            skipped_unchanged: tally.skipped, episodes_opened_by_rule: tally.openedByRule,
            episodes_open_by_rule: tally.episodes.keys.reduce(into: [:]) { $0[ruleID(ofKey: $1), default: 0] += 1 },
            missions_finished: tally.newlyFinished.reduce(into: [:]) {
                $0[$1.tenant, default: [:]][LabelSet.missions.key($1.status, $1.missionType), default: 0] += 1
            },
            missions_by_tenant: deployment.profile.metricsTenantLabel ? tally.missionsByTenant : nil,
            policy_blocks_by_rule: tally.blocksByRule, episodes_resolved_after_ms: tally.resolvedAfterMs)
    }

    /// The rule a dedup key names (`mission/rule[/subject]`): the longest rule in force it starts
    /// with, else its second and third parts (a rule id is `pack/name`).
    private func ruleID(ofKey key: String) -> String {
        let rest = key.drop { $0 != "/" }.dropFirst()
        let known = deployment.rules.map(\.ruleID).filter { rest == $0 || rest.hasPrefix($0 + "/") }
        return known.max { $0.count < $1.count } ?? rest.split(separator: "/").prefix(2).joined(separator: "/")
    }
}

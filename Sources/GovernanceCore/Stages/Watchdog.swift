import Foundation

/// `rgov-watchdog`: turns mission snapshots into canonical events, decisions and notices.
///
/// A run is three parts: its plan (`WatchdogPlan`: which snapshots are quiet and which to judge),
/// its episodes (`EpisodeBook`: a condition opens one and produces one notice however often the
/// watchdog runs, with the reminders and escalation the profile asks for, and closes it when it
/// clears), and its record (`WatchdogRecord`: the last-run record, the run artifact, the report).
/// Noise control follows what Alertmanager and Healthchecks.io users ask for.
public struct Watchdog {
    public static let stage = "watchdog"
    public static let actor = "rgov-watchdog"

    public let deployment: Deployment

    public struct Report: Codable, Sendable {
        public var run_id: String
        public var scanned: Int
        public var findings: Int
        public var findings_by_rule: [String: Int]
        public var notices_created: [String]
        public var reminders: Int
        public var escalations: Int
        public var episodes_resolved: Int
        public var quarantined: [String]
        public var late_by_ms: Int?
        public var previous_run_at: Date?
        public var duration_ms: Int
        public var run_artifact: String
        /// Missions scanned, keyed by `LabelSet.missions` (`status|mission_type`), for the metrics.
        public var missions_by_status_type: [String: Int]
        /// The newest time any scanned snapshot says it was updated: when the colony feed last spoke.
        public var mission_feed_last_update: Date?
        /// Proposed writebacks nobody has decided, and how long the oldest has waited.
        public var approval_backlog: Int
        public var approval_oldest_waiting_ms: Int64?
        /// Snapshots not read again: unchanged, and quiet until a known time (`ScanCache`).
        public var skipped_unchanged: Int
        /// Episodes this run opened, by rule: each condition once, however many runs see it hold.
        public var episodes_opened_by_rule: [String: Int] = [:]
        /// Episodes open when this run ended, by rule: the conditions holding now.
        public var episodes_open_by_rule: [String: Int] = [:]
        /// Missions this run saw in a terminal status not counted before, by tenant (empty: none),
        /// keyed by `LabelSet.missions`: each mission once per terminal status it reached.
        public var missions_finished: [String: [String: Int]] = [:]
        /// Missions scanned by tenant, keyed by `LabelSet.missions`: only when the profile asks
        /// for a tenant label (`spec.metrics.tenant_label`).
        public var missions_by_tenant: [String: [String: Int]]? = nil
        /// Episodes this run opened with a `block` decision, by rule.
        public var policy_blocks_by_rule: [String: Int] = [:]
        /// How long each episode this run resolved had been open.
        public var episodes_resolved_after_ms: [Int64] = []
    }

    /// One run, its findings made durable with group commit (`Transaction`).
    public func run() throws -> Report {
        try Transaction.run(anchor: deployment.layout.root) { transaction in
            let started = Sys.monotonicSeconds()
            let writes = Writes.staged(transaction)
            var scan = try self.scan(writes, executable: Sys.executablePath(), probe: false)
            let (record, book) = (scan.record, scan.book)
            var tally = scan.plan.tally
            for step in scan.plan.steps {
                if let signal = Shutdown.requested {
                    // Each finding so far is recorded whole; closing episodes needs the whole scan.
                    throw RgovError(
                        .temporaryFailure,
                        "stopped by \(Shutdown.name(of: signal)) after \(tally.scanned) missions; no episode was closed"
                    )
                }
                switch step {
                case .keep(_, let line): scan.cache.keep(line)
                case .judge(let name, let identity): try judge(name, identity: identity, in: &scan, &tally)
                }
            }
            let resolved = record.behindBy != nil ? 0 : try book.close(&tally)
            let duration = Int(((Sys.monotonicSeconds() - started) * 1000).rounded())
            let changedCache = scan.cache.changed
            let finished = FinishedMissions(deployment.layout.watchdogFinishedMissions)
            tally.newlyFinished = finished.newlyFinished(tally)
            let changedFinished = finished.updated(tally, newly: tally.newlyFinished)
            if tally.created.isEmpty, tally.reminders == 0, tally.escalations == 0, tally.quarantined.isEmpty,
                resolved == 0, record.behindBy == nil, changedCache == nil, changedFinished == nil,
                let artifact = record.recordedArtifact
            {
                return try record.recordQuiet(tally, artifact: artifact, duration: duration)
            }
            if let changedCache {
                try writes.write(changedCache, to: deployment.layout.watchdogScanCache, phase: .markers)
            }
            if let changedFinished {
                try writes.write(changedFinished, to: deployment.layout.watchdogFinishedMissions, phase: .markers)
            }
            // What the run artifact counts must be on disk.
            try writes.commit()
            return try record.record(tally, resolved: resolved, duration: duration)
        }
    }

    /// The run of a watchdog with nothing to do (its plan is empty), made without judging anything:
    /// it records what `run()` records in that case (the last-run record only); nil, having
    /// written nothing, when the plan is not empty.
    ///
    /// `executable` is the watchdog whose scan cache this is: the cache holds only under its build.
    /// `rgov tick` calls this before it would start that watchdog.
    public func quietRun(executable: String) throws -> Report? {
        try Transaction.run(anchor: deployment.layout.root) { transaction in
            let started = Sys.monotonicSeconds()
            let scan = try scan(.staged(transaction), executable: executable, probe: true)
            // A terminal status not yet counted (a lost or older file) needs the run that counts it.
            guard scan.plan.isEmpty, let artifact = scan.record.recordedArtifact,
                FinishedMissions(deployment.layout.watchdogFinishedMissions).newlyFinished(scan.plan.tally).isEmpty
            else { return nil }
            return try scan.record.recordQuiet(
                scan.plan.tally, artifact: artifact,
                duration: Int(((Sys.monotonicSeconds() - started) * 1000).rounded()))
        }
    }

    /// A run's scan: its record and episodes, its plan, the scan cache it keeps or rewrites, and
    /// what judging needs.
    private struct Scan {
        let record: WatchdogRecord
        let book: EpisodeBook
        var plan: WatchdogPlan
        var cache: ScanCache
        let approvals: [String: WritebackApproval]
        /// A snapshot changed after this is too new to cache (its next change could keep its times).
        let racyAfter: Int64
        var now: Date { record.now }
    }

    /// This run's record and open episodes (a `probe` reads only their index and warns of nothing),
    /// and its plan, from the listed snapshots and the scan cache made under this build, profile
    /// and writeback decisions.
    private func scan(_ writes: Writes, executable: String, probe: Bool) throws -> Scan {
        let record = WatchdogRecord(deployment: deployment, writes: writes)
        if !probe { record.warnIfBehind() }
        let book = EpisodeBook(deployment: deployment, writes: writes, runID: record.runID, now: record.now)
        let episodes = try book.openEpisodes(indexOnly: probe)
        let layout = deployment.layout
        let approvals = WritebackApproval.load(layout)
        let cache = ScanCache(
            layout.watchdogScanCache, fingerprint: scanFingerprint(approvals, executable: executable))
        let racyAfter = Sys.fileSystemNanoseconds() - Sys.racyNanoseconds
        // In name order, as the cache is written.
        let missions = try layout.artifactNames(in: layout.missions).lazy.map {
            (name: $0, identity: Sys.identity(layout.file($0, in: layout.missions)))
        }
        let plan = WatchdogPlan.make(
            missions: missions, cache: cache, episodes: episodes, behindBy: record.behindBy,
            sameProfile: record.sameProfile, recordedArtifact: record.recordedArtifact != nil,
            nowMs: Timestamp.milliseconds(record.now), probe: probe)
        return Scan(
            record: record, book: book, plan: plan, cache: cache, approvals: approvals, racyAfter: racyAfter)
    }

    /// Reads and judges the snapshot `name`: each finding opens or follows up its episode, and a
    /// snapshot that stays quiet long enough is cached.
    private func judge(
        _ name: String, identity: Sys.FileIdentity?, in scan: inout Scan, _ tally: inout WatchdogTally
    ) throws {
        let book = scan.book
        let path = deployment.layout.file(name, in: deployment.layout.missions)
        let mission: MissionSnapshot
        do {
            mission = try MissionStore.read(path, name: name)
        } catch {
            if Sys.kind(path) == .missing { return }
            let record = try Quarantine(layout: deployment.layout, writes: book.writes).isolate(
                path, reason: "invalid mission snapshot: \(error)", stage: Self.stage, at: scan.now)
            tally.quarantined.append(name)
            if let id = try book.raiseMalformedSnapshot(record) { tally.created.append(id) }
            return
        }
        let summary = Self.summary(of: mission, approvals: scan.approvals)
        tally.count(summary)
        tally.noteScanned(mission.mission_id)
        let judged = WritebackApproval.applied(scan.approvals, to: mission)
        var conditions: [ScanCache.Firing] = []
        var followUpDue: Int64? = nil
        for finding in PolicyCatalog.evaluate(judged, rules: deployment.rules, now: scan.now) {
            tally.findingsByRule[finding.rule_id, default: 0] += 1
            let key = dedupKey(mission.mission_id, finding)
            tally.firing.insert(key)
            conditions.append(ScanCache.Firing(rule: finding.rule_id, key: key))
            if let due = try book.observe(finding, key: key, mission: mission, tally: &tally) {
                followUpDue = min(followUpDue ?? due, due)
            }
        }
        let nowMs = Timestamp.milliseconds(scan.now)
        if let identity, identity.modified < scan.racyAfter, identity.changed < scan.racyAfter,
            ([name, summary.missionID, summary.status, summary.missionType, summary.tenant]
                + conditions.flatMap { [$0.rule, $0.key] }).allSatisfy(ScanCache.fits),
            let quiet = quietUntil(judged, nowMs: nowMs, firing: Set(conditions.map(\.key))),
            min(quiet, followUpDue ?? quiet) > nowMs.saturatingAdd(60_000)
        {
            scan.cache.write(
                name,
                ScanCache.Entry(
                    identity: identity, quietUntilMs: min(quiet, followUpDue ?? quiet), summary: summary,
                    firing: conditions))
        }
    }

    static func summary(of mission: MissionSnapshot, approvals: [String: WritebackApproval]) -> ScanCache.Summary {
        let spoke = [mission.updated_at, mission.last_checkpoint_at, mission.started_at, mission.created_at]
            .compactMap { $0 }.max()
        let pending = WritebackApproval.pending(in: mission, decided: approvals)
        return ScanCache.Summary(
            missionID: mission.mission_id, status: mission.status.rawValue, missionType: mission.mission_type,
            spokeMs: spoke.map(Timestamp.milliseconds), pendingApprovals: pending.count,
            oldestProposalMs: pending.map { Timestamp.milliseconds($0.since) }.min(), tenant: mission.tenant_id ?? "")
    }

    /// The first millisecond at which a rule not among `firing` (the conditions holding at
    /// `nowMs`) could fire for `judged`; nil when it is too near to be worth caching.
    ///
    /// Judged 30 days ahead, each new finding's `occurred_at` is where its threshold lies (the
    /// earliest is taken); judged a millisecond before it, exactly `firing` must hold, so a rule
    /// whose `occurred_at` came after its threshold is never skipped past. A condition that holds
    /// keeps holding as time passes (every time-based rule fires once `now - since > limit`).
    private func quietUntil(_ judged: MissionSnapshot, nowMs: Int64, firing: Set<String>) -> Int64? {
        let horizon = nowMs.saturatingAdd(30 * 86_400_000)
        let ahead = PolicyCatalog.evaluate(judged, rules: deployment.rules, now: Timestamp.date(milliseconds: horizon))
            .filter { !firing.contains(dedupKey(judged.mission_id, $0)) }
        let until = min(horizon, ahead.map { Timestamp.milliseconds($0.occurred_at) }.min() ?? horizon)
        guard until > nowMs.saturatingAdd(60_000) else { return nil }
        let before = PolicyCatalog.evaluate(
            judged, rules: deployment.rules, now: Timestamp.date(milliseconds: until - 1))
        return Set(before.map { dedupKey(judged.mission_id, $0) }) == firing ? until : nil
    }

    /// What a scan cache is valid under: the watchdog's build (its executable's identity), the
    /// profile (its rules with their parameters, and the reminder and escalation times that set when
    /// an open episode falls due), and every writeback decision.
    private func scanFingerprint(_ approvals: [String: WritebackApproval], executable: String) -> String {
        let exe = Sys.identity(executable)
        var text = "exe \(exe?.inode ?? 0) \(exe?.size ?? 0) \(exe?.modified ?? 0)\n"
        text += "profile \(deployment.profile.sha256)\n"
        for rule in deployment.rules.sorted(by: { $0.ruleID < $1.ruleID }) {
            text += "rule \(rule.ruleID) \(rule.severity.rawValue) \(rule.outcome.rawValue)"
            for (key, value) in rule.values.sorted(by: { $0.key < $1.key }) { text += " \(key)=\(value)" }
            text += "\n"
        }
        for (key, approval) in approvals.sorted(by: { $0.key < $1.key }) {
            text += "approval \(key) \(approval.decision.rawValue)\n"
        }
        return SHA256.hex(of: text)
    }

    /// The newest run artifact in `layout`: when the watchdog last ran, and how often it expected to.
    ///
    /// The run `last-run.json` names, so a run made under a clock set back is still the latest (a
    /// run that recorded nothing new is shown as the recorded run at its own time); else the newest
    /// by name.
    public static func latestRun(_ layout: StateLayout) -> WatchdogRun? {
        if let data = try? Sys.readFile(layout.watchdogLastRun, limit: 1 << 16),
            let last = try? CanonicalJSON.decode(WatchdogRecord.LastRun.self, from: data),
            var run = try? CanonicalJSON.decode(
                WatchdogRun.self,
                from: try Sys.readFile(
                    last.recorded_artifact.map(layout.resolve)
                        ?? layout.artifact(
                            last.run_id, in: layout.watchdogRunFolder(day: Timestamp.day(last.started_at))),
                    limit: 1 << 20))
        {
            // A run that found nothing new is the recorded run, seen again at its own time.
            if run.run_id != last.run_id {
                run.run_id = last.run_id
                run.started_at = last.started_at
                run.finished_at = last.started_at
                run.duration_ms = last.duration_ms ?? run.duration_ms
                run.late_by_ms = last.late_by_ms
                run.previous_run_at = last.previous_run_at
            }
            return run
        }
        guard let day = try? layout.dayPartitions(in: layout.watchdogRuns).last,
            let path = try? layout.files(in: layout.watchdogRunFolder(day: day)).last
        else { return nil }
        return try? CanonicalJSON.decode(WatchdogRun.self, from: try Sys.readFile(path, limit: 1 << 20))
    }

    /// The watchdog has not run for more than twice the cadence it expected: the scheduler, or the
    /// tick itself, has stopped.
    ///
    /// Nil when there is no run to judge.
    public static func staleness(of run: WatchdogRun?, now: Date) -> Int64? {
        guard let run else { return nil }
        let age = now.milliseconds(since: run.started_at)
        return age > 2 * Int64(run.expected_interval_ms) ? age : nil
    }

    private func dedupKey(_ missionID: String, _ finding: Finding) -> String {
        missionID + "/" + finding.rule_id + (finding.subject.map { "/" + $0 } ?? "")
    }

    static func render(_ finding: Finding, mission: MissionSnapshot) -> NoticeMessage {
        let title = "[\(finding.severity.rawValue)] \(finding.rule_id): \(mission.mission_id) (\(mission.mission_type))"
        var text =
            "Mission \(mission.mission_id) (\(mission.mission_type), \(mission.status.rawValue), stage \(mission.stage ?? "unknown")): "
        text += finding.summary + "."
        if let goal = mission.normalized_goal ?? mission.user_goal { text += " Goal: " + String(goal.prefix(200)) }
        return NoticeMessage(title: title, text: text)
    }
}

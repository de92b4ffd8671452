import Foundation

/// `rgov-watchdog`: turns mission snapshots into canonical events, decisions and notices.
///
/// Noise control follows what Alertmanager and Healthchecks.io users ask for. A condition on a
/// mission opens an episode (keyed by mission, rule and subject) and produces one notice however
/// often the watchdog runs; while it holds, the profile may ask for reminders (`repeat_interval`)
/// and one escalation when the first notice is not acked in time; when it clears, the episode
/// closes with a `resolved` event (and a resolved notice if the profile asks).
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
        /// Missions scanned by `status|mission_type`, for the metrics.
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
    }

    /// What one run did, gathered as it goes.
    private struct Tally {
        var scanned = 0
        var findingsByRule: [String: Int] = [:]
        var openedByRule: [String: Int] = [:]
        var created: [String] = []
        var reminders = 0
        var escalations = 0
        var quarantined: [String] = []
        var missionsByStatusType: [String: Int] = [:]
        var feedLastUpdate: Date?
        /// Open episodes by dedup key: the file of each, named by its episode id.
        var episodes: [String: String] = [:]
        var approvalBacklog = 0
        var oldestProposalMs: Int64?
        var skipped = 0

        /// Counts a scanned mission.
        mutating func count(_ s: ScanCache.Summary) {
            scanned += 1
            missionsByStatusType[s.status + "|" + s.missionType, default: 0] += 1
            if let ms = s.spokeMs {
                let spoke = Timestamp.date(milliseconds: ms)
                if feedLastUpdate.map({ spoke > $0 }) ?? true { feedLastUpdate = spoke }
            }
            approvalBacklog += s.pendingApprovals
            if let ms = s.oldestProposalMs { oldestProposalMs = min(oldestProposalMs ?? ms, ms) }
        }
    }

    private struct LastRun: Codable {
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

    private var lastRunPath: String { deployment.layout.watchdogLastRun }

    /// One scan, its findings made durable with group commit (`WriteBatch`).
    public func run() throws -> Report {
        try WriteBatch.run(anchor: deployment.layout.root) { batch in
            // Only a quiet-only scan stops short.
            guard let report = try scan(batch, quietOnly: false, executable: Sys.executablePath()) else {
                throw RgovError(.failure, "the watchdog's scan stopped short")
            }
            return report
        }
    }

    /// The run of a watchdog with nothing to do, made without judging anything.
    ///
    /// That is: every mission unchanged and quiet in the scan cache, the open episodes known from
    /// their index, the clock not behind, no episode to close. It records what `run()` records in that case (the last-run
    /// record only); nil, having written nothing, as soon as anything needs judging.
    ///
    /// `executable` is the watchdog whose scan cache this is: the cache holds only under its build.
    /// `rgov tick` calls this before it would start that watchdog.
    public func quietRun(executable: String) throws -> Report? {
        try WriteBatch.run(anchor: deployment.layout.root) { batch in
            try scan(batch, quietOnly: true, executable: executable)
        }
    }

    /// A scan; with `quietOnly`, nil at the first thing that would need judging or a write.
    private func scan(_ batch: WriteBatch, quietOnly: Bool, executable: String) throws -> Report? {
        let started = Sys.monotonicSeconds()
        let now = deployment.clock.now()
        let layout = deployment.layout
        let store = NoticeStore(layout: layout)
        let runID = "wdr-" + Timestamp.compact(now) + "-" + String(Sys.processID())
        // The replaced records here (last run, episode index) leave a temporary if a run dies mid-write.
        DurableFile.sweepVolatile(in: layout.watchdogRuns)
        let previous = try? CanonicalJSON.decode(LastRun.self, from: try Sys.readFile(lastRunPath, limit: 1 << 16))
        let expected = deployment.profile.watchdogExpectedIntervalMs
        var lateBy: Int? = nil
        if let previous {
            let gap = now.milliseconds(since: previous.started_at)
            if gap > 2 * expected { lateBy = Int(gap - expected) }
        }
        // The clock went back: judged against the latest time any run saw, so a condition that only
        // seems cleared because time went backwards is not reported resolved.
        let newest = max(previous?.newest_at ?? previous?.started_at ?? now, now)
        let behindBy = newest > now ? Int(newest.milliseconds(since: now)) : nil
        if quietOnly, behindBy != nil || previous?.profile_sha256 != deployment.profile.sha256 { return nil }
        // Said once: by the first run that finds the clock behind.
        let previousWasBehind = previous.map { ($0.newest_at ?? $0.started_at) > $0.started_at } ?? false
        if let behindBy, !previousWasBehind {
            Log.info(
                Self.actor,
                "warning: the clock went back \(DurationText.describe(ms: Int64(behindBy))) (now \(Timestamp.format(now)), "
                    + "a run already saw \(Timestamp.format(newest))); no episode is closed until it catches up",
                ["event": .string("clock_went_back"), "behind_ms": .number(Double(behindBy))])
        }
        var tally = Tally()
        guard let episodes = try loadOpenEpisodes(now: now, indexOnly: quietOnly) else { return nil }
        tally.episodes = episodes
        let approvals = WritebackApproval.load(layout)
        var firing: Set<String> = []
        // Which missions with an open episode were scanned (only those can close one).
        let withEpisodes = Set(tally.episodes.keys.map(Self.missionID(ofKey:)))
        var scannedMissions: Set<String> = []
        var cache = ScanCache(layout.watchdogScanCache, fingerprint: scanFingerprint(approvals, executable: executable))
        let racyAfter = Sys.fileSystemNanoseconds() - Sys.racyNanoseconds
        let nowMs = Timestamp.milliseconds(now)

        // In name order, as the cache is written.
        for name in try layout.artifactNames(in: layout.missions) {
            let path = layout.file(name, in: layout.missions)
            if let signal = Shutdown.requested {
                // Each finding so far is recorded whole; closing episodes needs the whole scan.
                throw RgovError(
                    .temporaryFailure,
                    "stopped by \(Shutdown.name(of: signal)) after \(tally.scanned) missions; no episode was closed")
            }
            let identity = Sys.identity(path)
            // Behind, a condition cached as holding may not hold yet: such a mission is judged again.
            if let identity, let (entry, line) = cache.entry(name), entry.identity == identity,
                nowMs < entry.quietUntilMs, behindBy == nil || entry.firing.isEmpty
            {
                cache.keep(line)
                tally.count(entry.summary)
                tally.skipped += 1
                if withEpisodes.contains(entry.summary.missionID) { scannedMissions.insert(entry.summary.missionID) }
                for condition in entry.firing {
                    tally.findingsByRule[condition.rule, default: 0] += 1
                    firing.insert(condition.key)
                }
                continue
            }
            if quietOnly { return nil }
            let mission: MissionSnapshot
            do {
                mission = try MissionStore.read(path, name: name)
            } catch {
                if Sys.kind(path) == .missing { continue }
                let record = try Quarantine(layout: layout).isolate(
                    path, reason: "invalid mission snapshot: \(error)", stage: Self.stage, at: now)
                tally.quarantined.append(name)
                if let id = try raiseMalformedSnapshot(record, runID: runID, now: now) {
                    tally.created.append(id)
                }
                continue
            }
            let summary = Self.summary(of: mission, approvals: approvals)
            tally.count(summary)
            if withEpisodes.contains(mission.mission_id) { scannedMissions.insert(mission.mission_id) }
            let judged = WritebackApproval.applied(approvals, to: mission)
            let findings = PolicyCatalog.evaluate(judged, rules: deployment.rules, now: now)
            var conditions: [ScanCache.Firing] = []
            var followUpDue: Int64? = nil
            for finding in findings {
                tally.findingsByRule[finding.rule_id, default: 0] += 1
                let key = dedupKey(mission.mission_id, finding)
                firing.insert(key)
                conditions.append(ScanCache.Firing(rule: finding.rule_id, key: key))
                let due = try observe(
                    finding, key: key, mission: mission, runID: runID, now: now, store: store, tally: &tally)
                if let due { followUpDue = min(followUpDue ?? due, due) }
            }
            if let identity, identity.modified < racyAfter, identity.changed < racyAfter,
                ([name, summary.missionID, summary.status, summary.missionType]
                    + conditions.flatMap { [$0.rule, $0.key] }).allSatisfy(ScanCache.fits),
                let quiet = quietUntil(judged, nowMs: nowMs, firing: Set(conditions.map(\.key))),
                min(quiet, followUpDue ?? quiet) > nowMs.saturatingAdd(60_000)
            {
                cache.write(
                    name,
                    ScanCache.Entry(
                        identity: identity, quietUntilMs: min(quiet, followUpDue ?? quiet), summary: summary,
                        firing: conditions))
            }
        }
        if quietOnly,
            tally.episodes.keys.contains(where: {
                !firing.contains($0) && scannedMissions.contains(Self.missionID(ofKey: $0))
            })
        {
            return nil
        }
        let resolved =
            behindBy != nil
            ? 0
            : try closeEpisodes(
                except: firing, among: scannedMissions, runID: runID, now: now, tally: &tally)
        let changedCache = cache.changed
        let duration = Int(((Sys.monotonicSeconds() - started) * 1000).rounded())
        // Nothing new: no artifact, only the last-run record, replaced without a barrier.
        if tally.created.isEmpty, tally.reminders == 0, tally.escalations == 0, tally.quarantined.isEmpty,
            resolved == 0, behindBy == nil, changedCache == nil, let recorded = previous?.recorded_artifact,
            Sys.kind(layout.resolve(recorded)) == .regular
        {
            try DurableFile.replace(
                try CanonicalJSON.encodeFile(
                    LastRun(
                        run_id: runID, started_at: now, newest_at: newest, recorded_artifact: recorded,
                        duration_ms: duration, late_by_ms: lateBy, previous_run_at: previous?.started_at,
                        profile_sha256: deployment.profile.sha256)),
                at: lastRunPath)
            return report(
                runID: runID, tally: tally, resolved: 0, lateBy: lateBy, previous: previous, duration: duration,
                artifact: layout.resolve(recorded), nowMs: nowMs)
        }
        if quietOnly { return nil }
        if let changedCache { try DurableFile.write(changedCache, to: layout.watchdogScanCache, phase: .markers) }
        // What the run artifact counts must be on disk.
        try batch.commit()
        let counts = try store.counts()
        let run = WatchdogRun(
            run_id: runID, parent_run_id: Log.parentRunID, profile_sha256: deployment.profile.sha256, started_at: now,
            finished_at: deployment.clock.isPinned ? now : Date(),
            duration_ms: duration,
            profile: deployment.profileReference, capability_descriptor: deployment.descriptorReference,
            scanned: tally.scanned, findings: tally.findingsByRule.values.reduce(0, +),
            findings_by_rule: tally.findingsByRule,
            notices_created: tally.created,
            notices_by_state: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            episodes_open: try layout.artifactNames(in: layout.openEpisodes).count, episodes_resolved: resolved,
            reminders: tally.reminders, escalations: tally.escalations, quarantined: tally.quarantined,
            capability_gaps: deployment.capabilityGaps, previous_run_at: previous?.started_at, late_by_ms: lateBy,
            expected_interval_ms: Int(expected), clock_behind_ms: behindBy)
        let artifact = try publishRun(run, now: now)
        let recorded = layout.relative(artifact)
        try DurableFile.write(
            try CanonicalJSON.encodeFile(
                LastRun(
                    run_id: runID, started_at: now, newest_at: newest, recorded_artifact: recorded,
                    profile_sha256: deployment.profile.sha256)),
            to: lastRunPath, phase: .markers)
        return report(
            runID: runID, tally: tally, resolved: resolved, lateBy: lateBy, previous: previous, duration: duration,
            artifact: artifact, nowMs: nowMs)
    }

    private func report(
        runID: String, tally: Tally, resolved: Int, lateBy: Int?, previous: LastRun?, duration: Int, artifact: String,
        nowMs: Int64
    ) -> Report {
        Report(
            run_id: runID, scanned: tally.scanned, findings: tally.findingsByRule.values.reduce(0, +),
            findings_by_rule: tally.findingsByRule,
            notices_created: tally.created, reminders: tally.reminders, escalations: tally.escalations,
            episodes_resolved: resolved, quarantined: tally.quarantined, late_by_ms: lateBy,
            previous_run_at: previous?.started_at,
            duration_ms: duration, run_artifact: artifact, missions_by_status_type: tally.missionsByStatusType,
            mission_feed_last_update: tally.feedLastUpdate, approval_backlog: tally.approvalBacklog,
            approval_oldest_waiting_ms: tally.oldestProposalMs.map { nowMs - $0 }, skipped_unchanged: tally.skipped,
            episodes_opened_by_rule: tally.openedByRule,
            episodes_open_by_rule: tally.episodes.keys.reduce(into: [:]) { $0[ruleID(ofKey: $1), default: 0] += 1 })
    }

    /// The rule a dedup key names (`mission/rule[/subject]`): the longest rule in force it starts
    /// with, else its second and third parts (a rule id is `pack/name`).
    private func ruleID(ofKey key: String) -> String {
        let rest = key.drop { $0 != "/" }.dropFirst()
        let known = deployment.rules.map(\.ruleID).filter { rest == $0 || rest.hasPrefix($0 + "/") }
        return known.max { $0.count < $1.count } ?? rest.split(separator: "/").prefix(2).joined(separator: "/")
    }

    /// What a scan counts of `mission`.
    static func summary(of mission: MissionSnapshot, approvals: [String: WritebackApproval]) -> ScanCache.Summary {
        let spoke = [mission.updated_at, mission.last_checkpoint_at, mission.started_at, mission.created_at]
            .compactMap { $0 }.max()
        let pending = WritebackApproval.pending(in: mission, decided: approvals)
        return ScanCache.Summary(
            missionID: mission.mission_id, status: mission.status.rawValue, missionType: mission.mission_type,
            spokeMs: spoke.map(Timestamp.milliseconds), pendingApprovals: pending.count,
            oldestProposalMs: pending.map { Timestamp.milliseconds($0.since) }.min())
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
            let last = try? CanonicalJSON.decode(LastRun.self, from: data),
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

    /// The mission a dedup key names: its first part.
    private static func missionID(ofKey key: String) -> String { String(key.prefix { $0 != "/" }) }

    private func dedupKey(_ missionID: String, _ finding: Finding) -> String {
        missionID + "/" + finding.rule_id + (finding.subject.map { "/" + $0 } ?? "")
    }

    /// The open episodes by dedup key; with `indexOnly`, nil unless their index holds.
    ///
    /// Each file is named by its episode id; one named otherwise (an older layout named them by
    /// their key) is renamed to its id first.
    private func loadOpenEpisodes(now: Date, indexOnly: Bool) throws -> [String: String]? {
        let layout = deployment.layout
        let folder = layout.openEpisodes
        let modified = Sys.modifiedNanoseconds(folder)
        if let modified, let names = EpisodeIndex.read(layout.watchdogEpisodeIndex, modified: modified) {
            return names.mapValues { layout.file($0, in: folder) }
        }
        if indexOnly { return nil }
        let racyAfter = Sys.fileSystemNanoseconds() - Sys.racyNanoseconds
        var index: [String: String] = [:]
        var moved = false
        for found in try layout.files(in: folder) {
            var path = found
            guard let episode = try? CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path, limit: 1 << 20))
            else {
                try Quarantine(layout: deployment.layout).isolate(
                    path, reason: "unreadable episode", stage: Self.stage, at: now)
                moved = true
                continue
            }
            let named = deployment.layout.openEpisode(episode.episode_id)
            if path != named {
                if Sys.kind(named) == .missing { try DurableFile.move(path, to: named) }
                path = named
                moved = true
            }
            index[episode.dedup_key] = path
        }
        // Only for the folder as it was read (no file moved or isolated above) and not too new.
        if !moved, let modified, modified < racyAfter, Sys.modifiedNanoseconds(folder) == modified {
            try EpisodeIndex.write(
                index.mapValues { String($0.dropFirst(folder.count + 1)) }, modified: modified,
                to: layout.watchdogEpisodeIndex)
        }
        return index
    }

    /// A finding either opens an episode or follows up an open one.
    ///
    /// Returns when the episode's next reminder or escalation falls due (nil: never).
    private func observe(
        _ finding: Finding, key: String, mission: MissionSnapshot, runID: String, now: Date, store: NoticeStore,
        tally: inout Tally
    ) throws -> Int64? {
        let repeatMs = deployment.profile.repeatIntervalMs
        let window = deployment.profile.escalationWindowMs
        guard let path = tally.episodes[key], Sys.kind(path) == .regular else {
            let (noticeID, path) = try openEpisode(
                for: finding, key: key, mission: mission, runID: runID, now: now)
            if let noticeID { tally.created.append(noticeID) }
            tally.episodes[key] = path
            tally.openedByRule[finding.rule_id, default: 0] += 1
            return [repeatMs, window].compactMap { $0 }.min().map { Timestamp.milliseconds(now).saturatingAdd($0) }
        }
        guard var episode = try? CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path, limit: 1 << 20)) else {
            try Quarantine(layout: deployment.layout).isolate(
                path, reason: "unreadable episode", stage: Self.stage, at: now)
            tally.episodes[key] = nil
            return Timestamp.milliseconds(now)
        }
        var changed = false
        if let repeatMs, now.milliseconds(since: episode.last_notified_at ?? episode.opened_at) >= repeatMs {
            let number = (episode.reminders ?? 0) + 1
            let id = try followUp(
                .reminder, number: number, of: episode, finding: finding, mission: mission, runID: runID, now: now)
            tally.created.append(id)
            tally.reminders += 1
            episode.reminders = number
            episode.last_notified_at = now
            changed = true
        }
        if let window, episode.escalated_at == nil,
            now.milliseconds(since: episode.opened_at) >= window, !firstNoticeAcked(episode, store: store)
        {
            let id = try followUp(
                .escalation, number: 1, of: episode, finding: finding, mission: mission, runID: runID, now: now)
            tally.created.append(id)
            tally.escalations += 1
            episode.escalated_at = now
            episode.escalation_notice_id = id
            changed = true
        }
        if changed {
            episode.last_seen_at = now
            try DurableFile.write(try CanonicalJSON.encodeFile(episode), to: path, phase: .markers)
        }
        // Due: the next reminder; the escalation while none was sent and its time is to come (one
        // whose time passed without it had its first notice acked).
        let reminder = repeatMs.map {
            Timestamp.milliseconds(episode.last_notified_at ?? episode.opened_at).saturatingAdd($0)
        }
        let escalation = window.map { Timestamp.milliseconds(episode.opened_at).saturatingAdd($0) }.flatMap {
            episode.escalated_at == nil && $0 > Timestamp.milliseconds(now) ? $0 : nil
        }
        return [reminder, escalation].compactMap { $0 }.min()
    }

    private func firstNoticeAcked(_ episode: Episode, store: NoticeStore) -> Bool {
        guard let id = episode.notice_id, let path = store.locate(id), let notice = try? store.read(path) else {
            return false
        }
        return notice.state == .acked
    }

    /// Opens an episode for `finding`; returns the id of the notice created (nil if it existed) and
    /// the episode's file.
    ///
    /// Order matters for crash safety: event, decision and notice are published before the
    /// episode that marks the work done. Their ids derive from the episode, so a rerun after a
    /// crash finds them (no-clobber creates) instead of writing a second notice.
    private func openEpisode(
        for finding: Finding, key: String, mission: MissionSnapshot, runID: String, now: Date
    ) throws -> (String?, String) {
        let episodeID = Identifier.derived("ep", key, Timestamp.format(finding.occurred_at))
        let eventID = Identifier.derived("evt", episodeID)
        let day = Timestamp.day(finding.occurred_at)
        let event = CanonicalEvent(
            event_id: eventID, kind: .finding, rule_id: finding.rule_id, severity: finding.severity,
            mission_id: mission.mission_id, task_id: mission.mission_id, correlation_id: mission.mission_id,
            dedup_key: key, episode_id: episodeID, occurred_at: finding.occurred_at, observed_at: now,
            summary: finding.summary, facts: finding.facts, watchdog_run_id: runID,
            profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference)
        try publish(event, day: day, snapshot: mission)
        let noticeID = Identifier.derived("ntc", episodeID)
        let isNew = try notify(
            noticeID: noticeID, kind: .finding, follows: nil, outcome: finding.outcome, severity: finding.severity,
            reason: finding.summary, event: event, missionID: mission.mission_id,
            target: deployment.profile.defaultTarget,
            message: Self.render(finding, mission: mission), now: now)
        FaultInjection.point("watchdog.after_notice")
        let episode = Episode(
            episode_id: episodeID, dedup_key: key, mission_id: mission.mission_id, rule_id: finding.rule_id,
            subject: finding.subject, opened_at: now, event_id: eventID, notice_id: noticeID, last_seen_at: now,
            last_notified_at: now, reminders: 0)
        let path = deployment.layout.openEpisode(episodeID)
        try DurableFile.create(try CanonicalJSON.encodeFile(episode), at: path, phase: .markers)
        return (isNew ? noticeID : nil, path)
    }

    /// A reminder or the escalation of an open episode: its own decision and notice, linked to the first.
    private func followUp(
        _ kind: NoticeKind, number: Int, of episode: Episode, finding: Finding, mission: MissionSnapshot, runID: String,
        now: Date
    ) throws -> String {
        let noticeID = Identifier.derived("ntc", episode.episode_id, kind.rawValue, String(number))
        let escalating = kind == .escalation
        let event = CanonicalEvent(
            event_id: episode.event_id, kind: .finding, rule_id: finding.rule_id, severity: finding.severity,
            mission_id: mission.mission_id, task_id: mission.mission_id, correlation_id: mission.mission_id,
            dedup_key: episode.dedup_key, episode_id: episode.episode_id, occurred_at: finding.occurred_at,
            observed_at: now,
            summary: finding.summary, facts: finding.facts, watchdog_run_id: runID,
            profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference)
        let open = DurationText.describe(ms: now.milliseconds(since: episode.opened_at))
        var message = Self.render(finding, mission: mission)
        message.title = (escalating ? "[escalation] " : "[reminder \(number)] ") + message.title
        message.text += escalating ? " Not acknowledged \(open) after the first notice." : " Still true after \(open)."
        // Without a channel to reach the escalation target, the operator gets it as a forced checkpoint.
        let channel = deployment.descriptor.has(.direct_send)
        var reason =
            escalating
            ? "first notice not acked within the escalation window; open \(open)" : "still true after \(open)"
        if escalating && !channel { reason += "; " + Capability.direct_send.fallback }
        let profile = deployment.profile
        _ = try notify(
            noticeID: noticeID, kind: kind, follows: episode.notice_id,
            outcome: escalating ? (channel ? .escalate : .force_checkpoint) : finding.outcome,
            severity: escalating ? max(finding.severity, .critical) : finding.severity, reason: reason, event: event,
            missionID: mission.mission_id,
            target: escalating && channel ? (profile.escalationTarget ?? profile.defaultTarget) : profile.defaultTarget,
            message: message, now: now)
        return noticeID
    }

    /// Writes the decision and the notice it asks for.
    ///
    /// Returns false if the notice already existed.
    /// The malformed-contract case of the ops spec: the colony runtime wrote a snapshot rgov cannot
    /// use. It is quarantined (never judged half-read), and an operator is told which file and why,
    /// once per quarantined file. Returns the notice's id when it is new.
    private func raiseMalformedSnapshot(_ record: QuarantineRecord, runID: String, now: Date)
        throws -> String?
    {
        let ruleID = "contract/malformed-snapshot"
        let stem = StateLayout.artifactID(record.file_name)
        let missionID = Identifier.isValid(stem) ? stem : "unknown-mission"
        let key = ruleID + "/" + record.quarantine_id
        let episodeID = Identifier.derived("ep", key)
        let event = CanonicalEvent(
            event_id: Identifier.derived("evt", episodeID), kind: .finding, rule_id: ruleID, severity: .warning,
            mission_id: missionID, task_id: missionID, correlation_id: missionID, dedup_key: key,
            episode_id: episodeID, occurred_at: now, observed_at: now,
            summary: "snapshot \(record.file_name) could not be used: \(record.reason)",
            facts: [
                "file": .string(record.original_path), "quarantine_id": .string(record.quarantine_id),
                "reason": .string(record.reason),
            ],
            watchdog_run_id: runID, profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference)
        try publish(event, day: Timestamp.day(now), snapshot: nil)
        let noticeID = Identifier.derived("ntc", episodeID)
        let message = NoticeMessage(
            title: "[warning] \(ruleID): \(record.file_name)",
            text: "The colony runtime wrote missions/\(record.file_name), which rgov cannot use: \(record.reason). "
                + "It was moved to quarantine/\(record.quarantine_id)/ and this mission is not watched until it is "
                + "fixed. Fix the writer, then: rgov quarantine restore \(record.quarantine_id) --by NAME")
        let isNew = try notify(
            noticeID: noticeID, kind: .finding, follows: nil, outcome: .notify, severity: .warning,
            reason: event.summary, event: event, missionID: missionID, target: deployment.profile.defaultTarget,
            message: message, now: now)
        return isNew ? noticeID : nil
    }

    private func notify(
        noticeID: String, kind: NoticeKind, follows: String?, outcome: DecisionRecord.Outcome, severity: Severity,
        reason: String,
        event: CanonicalEvent, missionID: String, target: String, message: NoticeMessage, now: Date
    ) throws -> Bool {
        let (initial, why) = deployment.firstState(severity: severity)
        let notice = try Notice(
            notice_id: noticeID, rule_id: event.rule_id, severity: severity, mission_id: missionID,
            correlation_id: missionID, event_id: event.event_id, decision_id: Identifier.derived("dec", noticeID),
            dedup_key: event.dedup_key,
            episode_id: event.episode_id, target: target, message: message, profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference, created_at: now, initial: initial,
            reason: kind == .finding ? why ?? "finding" : kind.rawValue + (why.map { "; " + $0 } ?? ""),
            by: Self.actor, notice_kind: kind, follows: follows, profileSHA256: deployment.profile.sha256)
        return try deployment.ledger.open(
            notice, outcome: outcome, reason: reason, day: Timestamp.day(event.occurred_at))
    }

    /// Closes open episodes of scanned missions whose condition no longer holds, with a `resolved` event.
    private func closeEpisodes(
        except firing: Set<String>, among missions: Set<String>, runID: String, now: Date,
        tally: inout Tally
    ) throws -> Int {
        let layout = deployment.layout
        var closed = 0
        // From the index of open episodes (dedup key, which starts with the mission id): only an
        // episode that may close is read.
        for (key, path) in tally.episodes.sorted(by: { $0.value < $1.value }) {
            guard !firing.contains(key), missions.contains(Self.missionID(ofKey: key)),
                Sys.kind(path) == .regular
            else { continue }
            guard let episode = try? CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path, limit: 1 << 20))
            else {
                try Quarantine(layout: layout).isolate(path, reason: "unreadable episode", stage: Self.stage, at: now)
                tally.episodes[key] = nil
                continue
            }
            guard missions.contains(episode.mission_id), !firing.contains(episode.dedup_key) else { continue }
            let eventID = Identifier.derived("evt", episode.episode_id, "resolved")
            let open = DurationText.describe(ms: now.milliseconds(since: episode.opened_at))
            let event = CanonicalEvent(
                event_id: eventID, kind: .resolved, rule_id: episode.rule_id, severity: .info,
                mission_id: episode.mission_id, task_id: episode.mission_id, correlation_id: episode.mission_id,
                dedup_key: episode.dedup_key, episode_id: episode.episode_id, occurred_at: now, observed_at: now,
                summary: "condition cleared after \(open)",
                facts: ["opened_at": .string(Timestamp.format(episode.opened_at))],
                watchdog_run_id: runID, profile: deployment.profileReference,
                capability_descriptor: deployment.descriptorReference)
            let mission = try? MissionStore(layout: layout).read(episode.mission_id)
            try publish(event, day: Timestamp.day(now), snapshot: mission)
            if deployment.profile.notifyResolved, let mission {
                let noticeID = Identifier.derived("ntc", episode.episode_id, "resolved")
                let message = NoticeMessage(
                    title: "[resolved] \(episode.rule_id): \(episode.mission_id) (\(mission.mission_type))",
                    text:
                        "Mission \(episode.mission_id): the condition reported by \(episode.notice_id ?? "an earlier notice") "
                        + "cleared after \(open).")
                if try notify(
                    noticeID: noticeID, kind: .resolved, follows: episode.notice_id, outcome: .notify, severity: .info,
                    reason: "condition cleared", event: event, missionID: mission.mission_id,
                    target: deployment.profile.defaultTarget,
                    message: message, now: now)
                {
                    tally.created.append(noticeID)
                }
            }
            let closedFolder = layout.closedEpisodes(day: Timestamp.day(now))
            try Sys.makeDirectory(closedFolder)
            try DurableFile.move(path, to: layout.artifact(episode.episode_id, in: closedFolder), phase: .markers)
            tally.episodes[key] = nil
            closed += 1
        }
        return closed
    }

    /// Publishes an event, stamped with the profile in force and the snapshot judged, and links it.
    private func publish(_ event: CanonicalEvent, day: String, snapshot: MissionSnapshot?) throws {
        var stamped = event
        stamped.profile_sha256 = deployment.profile.sha256
        stamped.snapshot_sha256 = try snapshot.map { try CanonicalJSON.sha256($0) }
        try MissionChain(layout: deployment.layout).publish(
            stamped, kind: .event, id: stamped.event_id, mission: stamped.mission_id,
            at: deployment.layout.event(stamped.event_id, day: day), time: stamped.observed_at)
    }

    private func publishRun(_ run: WatchdogRun, now: Date) throws -> String {
        let folder = deployment.layout.watchdogRunFolder(day: Timestamp.day(now))
        try Sys.makeDirectory(folder)
        var artifact = deployment.layout.artifact(run.run_id, in: folder)
        var suffix = 1
        while !(try DurableFile.create(try CanonicalJSON.encodeFile(run), at: artifact)) {
            suffix += 1
            artifact = deployment.layout.artifact(run.run_id + "-" + String(suffix), in: folder)
        }
        return artifact
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

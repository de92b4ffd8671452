import Foundation

/// `rgov-watchdog`: turns mission snapshots into canonical events, decisions and notices.
///
/// One notice per episode: a condition on a mission opens an episode (keyed by mission and rule)
/// and produces one notice however often the watchdog runs; when the condition clears, the
/// episode closes with a `resolved` event, so a later recurrence is a new episode.
public struct Watchdog {
    public static let stage = "watchdog"
    public static let actor = "rgov-watchdog"
    /// Snapshots larger than this are quarantined unread: a hostile runtime cannot exhaust memory.
    public static let missionSizeLimit = 4 << 20

    public let deployment: Deployment

    public init(deployment: Deployment) { self.deployment = deployment }

    public struct Report: Codable, Sendable {
        public var run_id: String
        public var scanned: Int
        public var findings: Int
        public var findings_by_rule: [String: Int]
        public var notices_created: [String]
        public var episodes_resolved: Int
        public var quarantined: [String]
        public var duration_ms: Int
        public var run_artifact: String
    }

    public func run() throws -> Report {
        let started = Sys.monotonicSeconds()
        let now = deployment.clock.now()
        let layout = deployment.layout
        let quarantine = Quarantine(layout: layout)
        let store = NoticeStore(layout: layout)
        let runID = "wdr-" + Timestamp.compact(now) + "-" + String(Sys.processID())
        var scanned = 0
        var findingsByRule: [String: Int] = [:]
        var created: [String] = []
        var quarantined: [String] = []
        var firing: Set<String> = []
        var scannedMissions: Set<String> = []

        for name in try layout.artifactNames(in: layout.missions) {
            let path = layout.missions + "/" + name
            let mission: MissionSnapshot
            do {
                mission = try readMission(path, name: name)
            } catch {
                if Sys.kind(path) == .missing { continue }
                try quarantine.isolate(path, reason: "invalid mission snapshot: \(error)", stage: Self.stage, at: now)
                quarantined.append(name)
                continue
            }
            scanned += 1
            scannedMissions.insert(mission.mission_id)
            for finding in PolicyCatalog.evaluate(mission, profile: deployment.profile, now: now) {
                findingsByRule[finding.rule_id, default: 0] += 1
                let key = dedupKey(mission.mission_id, finding.rule_id)
                firing.insert(key)
                if let noticeID = try openEpisode(for: finding, mission: mission, runID: runID, now: now, store: store)
                {
                    created.append(noticeID)
                }
            }
        }
        let resolved = try closeEpisodes(except: firing, among: scannedMissions, runID: runID, now: now)
        let counts = try store.counts()
        let finishedAt = deployment.clock.isPinned ? now : Date()
        let duration = Int(((Sys.monotonicSeconds() - started) * 1000).rounded())
        let run = WatchdogRun(
            run_id: runID, started_at: now, finished_at: finishedAt, duration_ms: duration,
            profile: deployment.profileReference, capability_descriptor: deployment.descriptorReference,
            scanned: scanned, findings: findingsByRule.values.reduce(0, +), findings_by_rule: findingsByRule,
            notices_created: created,
            notices_by_state: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            episodes_open: try layout.artifactNames(in: layout.openEpisodes).count, quarantined: quarantined,
            capability_gaps: deployment.capabilityGaps)
        let folder = layout.watchdogRuns + "/" + Timestamp.day(now)
        try Sys.makeDirectory(folder)
        var artifact = folder + "/" + runID + ".json"
        var suffix = 1
        while !(try DurableFile.create(try CanonicalJSON.encodeFile(run), at: artifact)) {
            suffix += 1
            artifact = folder + "/" + runID + "-" + String(suffix) + ".json"
        }
        return Report(
            run_id: runID, scanned: scanned, findings: run.findings, findings_by_rule: findingsByRule,
            notices_created: created, episodes_resolved: resolved, quarantined: quarantined, duration_ms: duration,
            run_artifact: artifact)
    }

    func readMission(_ path: String, name: String) throws -> MissionSnapshot {
        switch Sys.kind(path) {
        case .regular: break
        case .symlink: throw RgovError.data("is a symbolic link; snapshots must be regular files")
        default: throw RgovError.data("is not a regular file")
        }
        let data: Data
        do {
            data = try Sys.readFile(path, limit: Self.missionSizeLimit)
        } catch let error as SystemCallError where error.errno == EFBIG {
            throw RgovError.data("larger than \(Self.missionSizeLimit) bytes")
        }
        let mission: MissionSnapshot
        do {
            mission = try CanonicalJSON.decode(MissionSnapshot.self, from: data)
        } catch let error as DecodingError {
            throw RgovError.data(Self.describe(error))
        }
        try mission.validate(fileName: name)
        return mission
    }

    private func dedupKey(_ missionID: String, _ ruleID: String) -> String { missionID + "/" + ruleID }

    private func episodePath(_ key: String) -> String {
        deployment.layout.openEpisodes + "/" + Identifier.derived("ep", key) + ".json"
    }

    /// Opens an episode for `finding` unless one is open; returns the id of the notice created.
    ///
    /// Order matters for crash safety: event, decision and notice are published before the
    /// episode that marks the work done. Their ids derive from the episode, so a rerun after a
    /// crash finds them (no-clobber creates) instead of writing a second notice.
    private func openEpisode(
        for finding: Finding, mission: MissionSnapshot, runID: String, now: Date, store: NoticeStore
    ) throws -> String? {
        let key = dedupKey(mission.mission_id, finding.rule_id)
        let episodeFile = episodePath(key)
        if Sys.kind(episodeFile) == .regular { return nil }
        let episodeID = Identifier.derived("ep", key, Timestamp.format(finding.occurred_at))
        let eventID = Identifier.derived("evt", episodeID)
        let decisionID = Identifier.derived("dec", episodeID)
        let noticeID = Identifier.derived("ntc", episodeID)
        let profile = deployment.profileReference
        let descriptor = deployment.descriptorReference
        let day = Timestamp.day(finding.occurred_at)

        let event = CanonicalEvent(
            event_id: eventID, kind: .finding, rule_id: finding.rule_id, severity: finding.severity,
            mission_id: mission.mission_id, task_id: mission.mission_id, correlation_id: mission.mission_id,
            dedup_key: key, episode_id: episodeID, occurred_at: finding.occurred_at, observed_at: now,
            summary: finding.summary, facts: finding.facts, watchdog_run_id: runID, profile: profile,
            capability_descriptor: descriptor)
        try publish(event, in: deployment.layout.events, day: day, id: eventID)

        let (initial, reason) = initialState()
        let decision = DecisionRecord(
            decision_id: decisionID, event_id: eventID, rule_id: finding.rule_id, mission_id: mission.mission_id,
            task_id: mission.mission_id, correlation_id: mission.mission_id, outcome: finding.outcome,
            reason: finding.summary, decided_at: now, decided_by: Self.actor, notice_id: noticeID, profile: profile,
            capability_descriptor: descriptor)
        try publish(decision, in: deployment.layout.decisions, day: day, id: decisionID)

        let notice = try Notice(
            notice_id: noticeID, rule_id: finding.rule_id, severity: finding.severity, mission_id: mission.mission_id,
            correlation_id: mission.mission_id, event_id: eventID, decision_id: decisionID, dedup_key: key,
            episode_id: episodeID, target: deployment.profile.defaultTarget,
            message: Self.render(finding, mission: mission), profile: profile, capability_descriptor: descriptor,
            created_at: now, initial: initial, reason: reason, by: Self.actor)
        let isNew = try store.create(notice)
        FaultInjection.point("watchdog.after_notice")

        let episode = Episode(
            episode_id: episodeID, dedup_key: key, mission_id: mission.mission_id, rule_id: finding.rule_id,
            opened_at: now, event_id: eventID, notice_id: noticeID, last_seen_at: now)
        try DurableFile.create(try CanonicalJSON.encodeFile(episode), at: episodeFile)
        return isNew ? noticeID : nil
    }

    /// Closes open episodes of scanned missions whose condition no longer holds, with a `resolved` event.
    private func closeEpisodes(except firing: Set<String>, among missions: Set<String>, runID: String, now: Date) throws
        -> Int
    {
        let layout = deployment.layout
        var closed = 0
        for name in try layout.artifactNames(in: layout.openEpisodes) {
            let path = layout.openEpisodes + "/" + name
            guard let episode = try? CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path, limit: 1 << 20))
            else {
                try Quarantine(layout: layout).isolate(path, reason: "unreadable episode", stage: Self.stage, at: now)
                continue
            }
            guard missions.contains(episode.mission_id), !firing.contains(episode.dedup_key) else { continue }
            let eventID = Identifier.derived("evt", episode.episode_id, "resolved")
            let event = CanonicalEvent(
                event_id: eventID, kind: .resolved, rule_id: episode.rule_id, severity: .info,
                mission_id: episode.mission_id, task_id: episode.mission_id, correlation_id: episode.mission_id,
                dedup_key: episode.dedup_key, episode_id: episode.episode_id, occurred_at: now, observed_at: now,
                summary: "condition cleared", facts: ["opened_at": .string(Timestamp.format(episode.opened_at))],
                watchdog_run_id: runID, profile: deployment.profileReference,
                capability_descriptor: deployment.descriptorReference)
            try publish(event, in: layout.events, day: Timestamp.day(now), id: eventID)
            let closedFolder = layout.watchdogRuns + "/episodes-closed/" + Timestamp.day(now)
            try Sys.makeDirectory(closedFolder)
            try DurableFile.move(path, to: closedFolder + "/" + episode.episode_id + ".json")
            closed += 1
        }
        return closed
    }

    private func initialState() -> (DeliveryState, String) {
        if !deployment.profile.queueEnabled { return (.prepared, "queue_disabled_by_profile") }
        if !deployment.descriptor.has("queue") { return (.prepared, "queue_capability_missing") }
        return (.queued, "finding")
    }

    private func publish<T: Encodable>(_ record: T, in base: String, day: String, id: String) throws {
        let folder = base + "/" + day
        try Sys.makeDirectory(folder)
        try DurableFile.create(try CanonicalJSON.encodeFile(record), at: folder + "/" + id + ".json")
    }

    static func render(_ finding: Finding, mission: MissionSnapshot) -> NoticeMessage {
        let title = "[\(finding.severity.rawValue)] \(finding.rule_id): \(mission.mission_id) (\(mission.mission_type))"
        var text = "Mission \(mission.mission_id) (\(mission.mission_type), stage \(mission.stage ?? "unknown")): "
        text += finding.summary + "."
        if let goal = mission.normalized_goal ?? mission.user_goal { text += " Goal: " + String(goal.prefix(200)) }
        return NoticeMessage(title: title, text: text)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at \(p)"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \(key.stringValue)\(path(context))"
        case .typeMismatch(_, let context): return "wrong type\(path(context)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "null value\(path(context))"
        case .dataCorrupted(let context): return "invalid JSON\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

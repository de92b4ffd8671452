import Foundation

/// The watchdog's episodes: a condition on a mission opens one (keyed by mission, rule and
/// subject) with its event, decision and notice; while it holds, the profile may ask for reminders
/// and one escalation; when it clears, it closes with a `resolved` event (and a resolved notice if
/// the profile asks).
///
/// Order matters for crash safety: event, decision and notice are published before the episode
/// file that marks the work done. Their ids derive from the episode, so a rerun after a crash finds
/// them (no-clobber creates) instead of writing a second notice.
struct EpisodeBook {
    let deployment: Deployment
    /// How the book's records are written (the run's transaction).
    let writes: Writes
    let runID: String
    let now: Date

    private var layout: StateLayout { deployment.layout }
    private var profile: DeploymentProfile { deployment.profile }
    private var quarantine: Quarantine { Quarantine(layout: layout, writes: writes) }

    /// The open episodes by dedup key; with `indexOnly`, nil unless their index holds.
    ///
    /// Each file is named by its episode id; one named otherwise (an older layout named them by
    /// their key) is renamed to its id first.
    func openEpisodes(indexOnly: Bool) throws -> [String: String]? {
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
            guard let episode = try readOrIsolate(path) else {
                moved = true
                continue
            }
            let named = layout.openEpisode(episode.episode_id)
            if path != named {
                if Sys.kind(named) == .missing { try writes.move(path, to: named) }
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

    /// The episode at `path`; nil, and the file quarantined, when it cannot be read.
    private func readOrIsolate(_ path: String) throws -> Episode? {
        if let episode = try? CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path, limit: 1 << 20)) {
            return episode
        }
        try quarantine.isolate(path, reason: "unreadable episode", stage: Watchdog.stage, at: now)
        return nil
    }

    /// A finding either opens an episode or follows up an open one.
    ///
    /// Returns when the episode's next reminder or escalation falls due (nil: never).
    func observe(_ finding: Finding, key: String, mission: MissionSnapshot, tally: inout WatchdogTally) throws
        -> Int64?
    {
        let repeatMs = profile.repeatIntervalMs
        let window = profile.escalationWindowMs
        guard let path = tally.episodes[key], Sys.kind(path) == .regular else {
            let (noticeID, path) = try open(for: finding, key: key, mission: mission)
            if let noticeID { tally.created.append(noticeID) }
            tally.episodes[key] = path
            tally.openedByRule[finding.rule_id, default: 0] += 1
            // Once per condition: an episode re-opened after its file was isolated is not counted again.
            if finding.outcome == .block, noticeID != nil { tally.blocksByRule[finding.rule_id, default: 0] += 1 }
            return [repeatMs, window].compactMap { $0 }.min().map { Timestamp.milliseconds(now).saturatingAdd($0) }
        }
        guard var episode = try readOrIsolate(path) else {
            tally.episodes[key] = nil
            return Timestamp.milliseconds(now)
        }
        var changed = false
        if let repeatMs, now.milliseconds(since: episode.last_notified_at ?? episode.opened_at) >= repeatMs {
            let number = (episode.reminders ?? 0) + 1
            tally.created.append(
                try followUp(.reminder, number: number, of: episode, finding: finding, mission: mission))
            tally.reminders += 1
            episode.reminders = number
            episode.last_notified_at = now
            changed = true
        }
        if let window, episode.escalated_at == nil, now.milliseconds(since: episode.opened_at) >= window,
            !firstNoticeAcked(episode)
        {
            let id = try followUp(.escalation, number: 1, of: episode, finding: finding, mission: mission)
            tally.created.append(id)
            tally.escalations += 1
            episode.escalated_at = now
            episode.escalation_notice_id = id
            changed = true
        }
        if changed {
            episode.last_seen_at = now
            try writes.write(try CanonicalJSON.encodeFile(episode), to: path, phase: .markers)
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

    private func firstNoticeAcked(_ episode: Episode) -> Bool {
        let store = NoticeStore(layout: layout)
        guard let id = episode.notice_id, let path = store.locate(id), let notice = try? store.read(path) else {
            return false
        }
        return notice.state == .acked
    }

    /// Opens an episode for `finding`; returns the id of the notice created (nil if it existed) and
    /// the episode's file.
    private func open(for finding: Finding, key: String, mission: MissionSnapshot) throws -> (String?, String) {
        let episodeID = Identifier.derived("ep", key, Timestamp.format(finding.occurred_at))
        let event = try publish(
            self.event(
                Identifier.derived("evt", episodeID), .finding, of: finding, key: key, episode: episodeID,
                mission: mission.mission_id), day: Timestamp.day(finding.occurred_at), snapshot: mission)
        let noticeID = Identifier.derived("ntc", episodeID)
        let isNew = try notify(
            noticeID, kind: .finding, follows: nil, outcome: finding.outcome, severity: finding.severity,
            reason: finding.summary, event: event, target: profile.defaultTarget,
            message: Watchdog.render(finding, mission: mission))
        writes.point("watchdog.after_notice")
        let episode = Episode(
            episode_id: episodeID, dedup_key: key, mission_id: mission.mission_id, rule_id: finding.rule_id,
            subject: finding.subject, opened_at: now, event_id: event.event_id, notice_id: noticeID, last_seen_at: now,
            last_notified_at: now, reminders: 0)
        let path = layout.openEpisode(episodeID)
        try writes.create(try CanonicalJSON.encodeFile(episode), at: path, phase: .markers)
        return (isNew ? noticeID : nil, path)
    }

    /// A reminder or the escalation of an open episode: its own decision and notice, linked to the first.
    private func followUp(
        _ kind: NoticeKind, number: Int, of episode: Episode, finding: Finding, mission: MissionSnapshot
    ) throws -> String {
        let noticeID = Identifier.derived("ntc", episode.episode_id, kind.rawValue, String(number))
        let escalating = kind == .escalation
        let event = attributed(
            self.event(
                episode.event_id, .finding, of: finding, key: episode.dedup_key, episode: episode.episode_id,
                mission: mission.mission_id), to: mission)
        let open = DurationText.describe(ms: now.milliseconds(since: episode.opened_at))
        var message = Watchdog.render(finding, mission: mission)
        message.title = (escalating ? "[escalation] " : "[reminder \(number)] ") + message.title
        message.text += escalating ? " Not acknowledged \(open) after the first notice." : " Still true after \(open)."
        // Without a channel to reach the escalation target, the operator gets it as a forced checkpoint.
        let channel = deployment.descriptor.has(.direct_send)
        var reason =
            escalating
            ? "first notice not acked within the escalation window; open \(open)" : "still true after \(open)"
        if escalating && !channel { reason += "; " + Capability.direct_send.fallback }
        _ = try notify(
            noticeID, kind: kind, follows: episode.notice_id,
            outcome: escalating ? (channel ? .escalate : .force_checkpoint) : finding.outcome,
            severity: escalating ? max(finding.severity, .critical) : finding.severity, reason: reason, event: event,
            target: escalating && channel ? (profile.escalationTarget ?? profile.defaultTarget) : profile.defaultTarget,
            message: message)
        return noticeID
    }

    /// The malformed-contract case of the ops spec: a snapshot rgov cannot use.
    ///
    /// The colony runtime wrote it; it is quarantined (never judged half-read), and an operator is told which file and why,
    /// once per quarantined file. Returns the notice's id when it is new.
    func raiseMalformedSnapshot(_ record: QuarantineRecord) throws -> String? {
        let ruleID = "contract/malformed-snapshot"
        let stem = StateLayout.artifactID(record.file_name)
        let missionID = Identifier.isValid(stem) ? stem : "unknown-mission"
        let key = ruleID + "/" + record.quarantine_id
        let episodeID = Identifier.derived("ep", key)
        let event = CanonicalEvent.observed(
            Identifier.derived("evt", episodeID), .finding, rule: ruleID, severity: .warning, mission: missionID,
            key: key, episode: episodeID, occurred: now,
            summary: "snapshot \(record.file_name) could not be used: \(record.reason)",
            facts: [
                "file": .string(record.original_path), "quarantine_id": .string(record.quarantine_id),
                "reason": .string(record.reason),
            ],
            by: self)
        let published = try publish(event, day: Timestamp.day(now), snapshot: nil)
        let noticeID = Identifier.derived("ntc", episodeID)
        let message = NoticeMessage(
            title: "[warning] \(ruleID): \(record.file_name)",
            text: "The colony runtime wrote missions/\(record.file_name), which rgov cannot use: \(record.reason). "
                + "It was moved to quarantine/\(record.quarantine_id)/ and this mission is not watched until it is "
                + "fixed. Fix the writer, then: rgov quarantine restore \(record.quarantine_id) --by NAME")
        let isNew = try notify(
            noticeID, kind: .finding, follows: nil, outcome: .notify, severity: .warning, reason: event.summary,
            event: published, target: profile.defaultTarget, message: message)
        return isNew ? noticeID : nil
    }

    /// Closes each open episode of a scanned mission whose condition no longer holds, with a
    /// `resolved` event; returns how many closed.
    func close(_ tally: inout WatchdogTally) throws -> Int {
        var closed = 0
        // From the index of open episodes (dedup key, which starts with the mission id): only an
        // episode that may close is read.
        for (key, path) in tally.closable where Sys.kind(path) == .regular {
            guard let episode = try readOrIsolate(path) else {
                tally.episodes[key] = nil
                continue
            }
            guard tally.scannedMissions.contains(episode.mission_id), !tally.firing.contains(episode.dedup_key) else {
                continue
            }
            if let id = try resolve(episode) { tally.created.append(id) }
            tally.resolvedAfterMs.append(max(0, now.milliseconds(since: episode.opened_at)))
            let closedFolder = layout.closedEpisodes(day: Timestamp.day(now))
            try Sys.makeDirectory(closedFolder)
            try writes.move(path, to: layout.artifact(episode.episode_id, in: closedFolder), phase: .markers)
            tally.episodes[key] = nil
            closed += 1
        }
        return closed
    }

    /// The `resolved` event of `episode`, and its notice if the profile asks; returns the notice's
    /// id when it is new.
    private func resolve(_ episode: Episode) throws -> String? {
        let open = DurationText.describe(ms: now.milliseconds(since: episode.opened_at))
        let event = CanonicalEvent.observed(
            Identifier.derived("evt", episode.episode_id, "resolved"), .resolved, rule: episode.rule_id,
            severity: .info, mission: episode.mission_id, key: episode.dedup_key, episode: episode.episode_id,
            occurred: now, summary: "condition cleared after \(open)",
            facts: ["opened_at": .string(Timestamp.format(episode.opened_at))], by: self)
        let mission = try? MissionStore(layout: layout).read(episode.mission_id)
        let published = try publish(event, day: Timestamp.day(now), snapshot: mission)
        guard profile.notifyResolved, let mission else { return nil }
        let noticeID = Identifier.derived("ntc", episode.episode_id, "resolved")
        let message = NoticeMessage(
            title: "[resolved] \(episode.rule_id): \(episode.mission_id) (\(mission.mission_type))",
            text:
                "Mission \(episode.mission_id): the condition reported by \(episode.notice_id ?? "an earlier notice") "
                + "cleared after \(open).")
        let isNew = try notify(
            noticeID, kind: .resolved, follows: episode.notice_id, outcome: .notify, severity: .info,
            reason: "condition cleared", event: event, target: profile.defaultTarget, message: message)
        return isNew ? noticeID : nil
    }

    /// The event of `finding` for the episode `episode` of `mission`, observed now.
    private func event(
        _ id: String, _ kind: CanonicalEvent.Kind, of finding: Finding, key: String, episode: String, mission: String
    ) -> CanonicalEvent {
        CanonicalEvent.observed(
            id, kind, rule: finding.rule_id, severity: finding.severity, mission: mission, key: key, episode: episode,
            occurred: finding.occurred_at, summary: finding.summary, facts: finding.facts, by: self)
    }

    /// Opens the notice `noticeID` about `event` with the decision that asks for it; false if it
    /// already existed.
    private func notify(
        _ noticeID: String, kind: NoticeKind, follows: String?, outcome: DecisionRecord.Outcome, severity: Severity,
        reason: String, event: CanonicalEvent, target: String, message: NoticeMessage
    ) throws -> Bool {
        let (initial, why) = deployment.firstState(severity: severity)
        let notice = try Notice(
            Notice.Header(
                notice_id: noticeID, rule_id: event.rule_id, severity: severity, mission_id: event.mission_id,
                correlation_id: event.mission_id, event_id: event.event_id,
                decision_id: Identifier.derived("dec", noticeID), dedup_key: event.dedup_key,
                episode_id: event.episode_id, target: target, message: message, profile: deployment.profileReference,
                profile_sha256: profile.sha256, capability_descriptor: deployment.descriptorReference,
                created_at: now, notice_kind: kind, follows: follows, tenant_id: event.tenant_id,
                actor_id: event.actor_id, environment: deployment.environment),
            initial: initial,
            reason: kind == .finding ? why ?? "finding" : kind.rawValue + (why.map { "; " + $0 } ?? ""),
            by: Watchdog.actor)
        return try NoticeLedger(layout: layout, stamp: deployment.stamp, writes: writes).open(
            notice, outcome: outcome, reason: reason, day: Timestamp.day(event.occurred_at))
    }

    /// Publishes an event, stamped with the profile in force and the snapshot judged, and links
    /// it; returns it as published.
    @discardableResult
    private func publish(_ event: CanonicalEvent, day: String, snapshot: MissionSnapshot?) throws -> CanonicalEvent {
        var stamped = attributed(event, to: snapshot)
        stamped.profile_sha256 = profile.sha256
        stamped.snapshot_sha256 = try snapshot.map { try CanonicalJSON.sha256($0) }
        try MissionChain(layout: layout, writes: writes).publish(
            stamped, kind: .event, id: stamped.event_id, mission: stamped.mission_id,
            at: layout.event(stamped.event_id, day: day), time: stamped.observed_at)
        return stamped
    }

    /// `event` with the tenant and actor of the mission it is about (none without a snapshot) and
    /// the state's environment.
    private func attributed(_ event: CanonicalEvent, to snapshot: MissionSnapshot?) -> CanonicalEvent {
        var attributed = event
        attributed.tenant_id = snapshot?.tenant_id
        attributed.actor_id = snapshot?.actor_id
        attributed.environment = deployment.environment
        return attributed
    }
}

extension CanonicalEvent {
    /// The one way a watchdog's event is made: about `mission` (its task and correlation too),
    /// observed at `book`'s time by its run, under its profile and runtime.
    fileprivate static func observed(
        _ id: String, _ kind: Kind, rule: String, severity: Severity, mission: String, key: String, episode: String,
        occurred: Date, summary: String, facts: [String: JSONValue], by book: EpisodeBook
    ) -> CanonicalEvent {
        CanonicalEvent(
            event_id: id, kind: kind, rule_id: rule, severity: severity, mission_id: mission, task_id: mission,
            correlation_id: mission, dedup_key: key, episode_id: episode, occurred_at: occurred, observed_at: book.now,
            summary: summary, facts: facts, watchdog_run_id: book.runID, profile: book.deployment.profileReference,
            capability_descriptor: book.deployment.descriptorReference)
    }
}

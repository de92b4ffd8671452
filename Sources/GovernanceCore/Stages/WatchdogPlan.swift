import Foundation

/// What one watchdog run has to do, decided before anything is judged or written: which mission
/// snapshots are quiet (unchanged, and nothing falls due before their cached time) and which must
/// be judged, from the listing, the scan cache, the open episodes and the time.
///
/// Pure: the caller reads the inputs. A run whose plan is empty has nothing to judge, no episode
/// that could close and nothing to record but its last-run record; `rgov tick` runs such a run in
/// its own process (`Watchdog.quietRun`).
struct WatchdogPlan {
    /// Each listed snapshot in name order (the scan cache's order): kept as cached, or judged.
    enum Step {
        /// Quiet: its cache line is kept as it is.
        case keep(name: String, line: Range<Int>)
        /// Changed, uncached or due: read and judged again.
        case judge(name: String, identity: Sys.FileIdentity?)
    }

    var steps: [Step] = []
    /// What the quiet snapshots contribute to the run's counts, as the cache remembers them.
    var tally = WatchdogTally()
    /// Something makes the run more than a quiet one: a snapshot to judge, an episode of a quiet
    /// mission whose condition no longer holds, the clock behind, another profile than the last
    /// run's, episodes not known from their index, or a cache or run artifact to write.
    private(set) var hasWork = false

    var isEmpty: Bool { !hasWork }

    /// The plan for `missions` (file names with their identities, in name order).
    ///
    /// `episodes`: the open episodes by dedup key (nil: their index does not hold, so they must
    /// be read). `behindBy`: how far the clock is behind the latest run's. `probe`: stop as soon
    /// as the plan is known not to be empty (`quietRun`'s question).
    static func make(
        missions: some Sequence<(name: String, identity: Sys.FileIdentity?)>, cache: ScanCache,
        episodes: [String: String]?,
        behindBy: Int?, sameProfile: Bool, recordedArtifact: Bool, nowMs: Int64, probe: Bool
    ) -> WatchdogPlan {
        var plan = WatchdogPlan()
        plan.hasWork = behindBy != nil || !sameProfile || episodes == nil || !recordedArtifact
        if plan.hasWork && probe { return plan }
        plan.tally.episodes = episodes ?? [:]
        plan.tally.withEpisodes = Set(plan.tally.episodes.keys.map(WatchdogTally.missionID(ofKey:)))
        var cache = cache
        for (name, identity) in missions {
            // Behind, a condition cached as holding may not hold yet: such a mission is judged again.
            if let identity, let (entry, line) = cache.entry(name), entry.identity == identity,
                nowMs < entry.quietUntilMs, behindBy == nil || entry.firing.isEmpty
            {
                plan.steps.append(.keep(name: name, line: line))
                plan.tally.count(entry.summary)
                plan.tally.noteScanned(entry.summary.missionID)
                plan.tally.skipped += 1
                for condition in entry.firing {
                    plan.tally.findingsByRule[condition.rule, default: 0] += 1
                    plan.tally.firing.insert(condition.key)
                }
                cache.keep(line)
                continue
            }
            plan.steps.append(.judge(name: name, identity: identity))
            plan.hasWork = true
            if probe { return plan }
        }
        if !plan.tally.closable.isEmpty || cache.changed != nil { plan.hasWork = true }
        return plan
    }
}

/// What one run did, gathered as it goes: the quiet part from its plan, the rest as it judges.
struct WatchdogTally {
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
    /// The dedup keys of the conditions that hold.
    var firing: Set<String> = []
    /// The missions that had an open episode when the run began, and those of them scanned (only
    /// those can close one).
    var withEpisodes: Set<String> = []
    var scannedMissions: Set<String> = []
    /// Missions by tenant (empty: none), keyed by `LabelSet.missions`.
    var missionsByTenant: [String: [String: Int]] = [:]
    /// Every mission counted, and those in a terminal status (`FinishedMissions` keeps which were counted).
    var missionIDs: Set<String> = []
    var terminal: [ScanCache.Summary] = []
    /// What the run adds to the operations figures: the terminal statuses not counted before,
    /// episodes opened with a `block` decision by rule, how long each episode it closed was open.
    var newlyFinished: [ScanCache.Summary] = []
    var blocksByRule: [String: Int] = [:]
    var resolvedAfterMs: [Int64] = []

    mutating func noteScanned(_ missionID: String) {
        if withEpisodes.contains(missionID) { scannedMissions.insert(missionID) }
    }

    mutating func count(_ s: ScanCache.Summary) {
        scanned += 1
        missionsByStatusType[LabelSet.missions.key(s.status, s.missionType), default: 0] += 1
        missionsByTenant[s.tenant, default: [:]][LabelSet.missions.key(s.status, s.missionType), default: 0] += 1
        missionIDs.insert(s.missionID)
        if MissionSnapshot.Status(rawValue: s.status)?.isTerminal == true { terminal.append(s) }
        if let ms = s.spokeMs {
            let spoke = Timestamp.date(milliseconds: ms)
            if feedLastUpdate.map({ spoke > $0 }) ?? true { feedLastUpdate = spoke }
        }
        approvalBacklog += s.pendingApprovals
        if let ms = s.oldestProposalMs { oldestProposalMs = min(oldestProposalMs ?? ms, ms) }
    }

    /// The open episodes, by dedup key, of scanned missions whose condition no longer holds.
    var closable: [(key: String, path: String)] {
        episodes.filter { !firing.contains($0.key) && scannedMissions.contains(Self.missionID(ofKey: $0.key)) }
            .sorted { $0.value < $1.value }.map { ($0.key, $0.value) }
    }

    static func missionID(ofKey key: String) -> String { String(key.prefix { $0 != "/" }) }
}

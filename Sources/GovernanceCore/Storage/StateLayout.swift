import Foundation

/// The state directory's folders (DESIGN §3).
///
/// The folder names are a contract: tools rely on them.
///
/// Notices live in one subfolder per delivery state, as Postfix's queue directories do, so `ls`
/// tells an operator what is happening and each stage scans only the work it owns. Final notices
/// (`acked`, `blocked`) and receipts go into day partitions, so a tick's cost follows pending work,
/// not history.
public struct StateLayout: Sendable {
    public let root: String

    public init(root: String) {
        var path = root.isEmpty ? "." : root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    public var missions: String { root + "/missions" }
    public var watchdogRuns: String { root + "/long-task-watchdog" }
    public var openEpisodes: String { watchdogRuns + "/episodes" }
    public var events: String { root + "/long-task-watchdog-events" }
    public var evidence: String { root + "/evidence" }
    public var decisions: String { root + "/decisions" }
    public var queue: String { root + "/operator-notify-queue" }
    /// `pending_external_send` notices with a retry scheduled (`next_attempt_at`).
    public var deferredNotices: String { queue + "/deferred" }
    public var spool: String { root + "/operator-notify-dispatch-spool" }
    public var receipts: String { root + "/operator-notify-bridge-receipts" }
    /// Attempt records whose outcome is not yet recorded: the bridge's intent log.
    public var inflightAttempts: String { receipts + "/inflight" }
    public var attempts: String { receipts + "/attempts" }
    public var quarantine: String { root + "/quarantine" }
    /// Late ack evidence dropped by an upper runtime or relay; accepted files move to `archive/<day>/`.
    public var bridgeAcks: String { root + "/operator-notify-bridge-acks" }
    public var locks: String { root + "/locks" }
    public var metrics: String { root + "/metrics" }
    public var exports: String { root + "/exports" }
    public var outbox: String { root + "/outbox" }
    /// The shim sender's outbox, and one marker per idempotency key it sent (its O(1) index).
    public var shimOutbox: String { outbox + "/shim-outbox.jsonl" }
    public var shimKeys: String { outbox + "/shim-keys" }
    public func shimKey(_ key: String) -> String { shimKeys + "/" + key }
    /// The keys of a shim batch being appended, and where the outbox ended before it.
    public var shimPending: String { outbox + "/shim-pending.json" }
    /// Every profile in force, stored once per content hash (`<sha256>.yaml`).
    public var profileSnapshots: String { root + "/profile-snapshots" }
    /// Activation and rollback records.
    public var profileHistory: String { root + "/profile-history" }
    public var activeProfile: String { root + "/active-profile.json" }
    /// The lifecycle records that put nothing in force: validations, simulations, evaluations, and
    /// activations or rollbacks refused or waiting for approval (`ProfileLifecycle.note`).
    public var lifecycleRecords: String { root + "/lifecycle-records" }
    public func lifecycleRecord(_ id: String) -> String { artifact(id, in: lifecycleRecords) }
    /// Each profile put in force, as its operator wrote it (secrets included), by the SHA-256 of its
    /// redacted snapshot: what the stages and verbs run.
    ///
    /// Private (0600), never exported.
    public var privateProfiles: String { root + "/profile-private" }
    public func privateProfile(_ sha256: String) -> String { privateProfiles + "/" + sha256 + ".yaml" }
    /// What `rgov init` recorded: when the state was made, by whom, for which owner.
    public var stateRecord: String { root + "/state.json" }
    /// Every operator verb, allowed or refused: who (as given and as the OS says), what, why.
    public var operatorActions: String { root + "/operator-actions" }
    /// Writeback approvals and rejections, one per writeback, read by the watchdog.
    public var approvals: String { decisions + "/approvals" }

    /// Each mission's evidence chain (`MissionChain`).
    public var chains: String { root + "/chains" }
    public func chain(_ missionID: String) -> String { chains + "/" + missionID + ".jsonl" }
    /// The missions that have an evidence chain.
    public func chainedMissions() throws -> [String] {
        try Sys.listDirectory(chains).filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(".jsonl".count)) }
            .sorted()
    }
    /// The folder of notices in the state named `state`, in its `day` partition if given.
    public func noticeFolder(_ state: String, day: String?) -> String {
        day.map { queue + "/" + state + "/" + $0 } ?? queue + "/" + state
    }
    /// The folders every state folder has, whatever the delivery states are.
    public var fixedFolders: [String] {
        [
            missions, watchdogRuns, openEpisodes, events, evidence, decisions, queue, spool, receipts, inflightAttempts,
            attempts, quarantine, locks, metrics, profileSnapshots, profileHistory, deferredNotices, operatorActions,
            approvals, bridgeAcks, chains,
        ]
    }
    public func mission(_ id: String) -> String { artifact(id, in: missions) }
    /// A notice's spool handoff (proof of dispatch), while its notice is under way; once the
    /// notice ends (acked, blocked) it moves into the day folder of that end.
    public func spoolHandoff(_ noticeID: String) -> String { spool + "/" + noticeID + ".json" }
    /// The state's secret from which each handoff's idempotency key is made: private (0600), never
    /// exported, read by the dispatcher and the bridge alone.
    public var idempotencySecret: String { root + "/idempotency.secret" }
    public func spoolHandoff(_ noticeID: String, day: String) -> String { spool + "/" + day + "/" + noticeID + ".json" }

    /// A stored profile, by the SHA-256 of its bytes.
    public func profileSnapshot(_ sha256: String) -> String { profileSnapshots + "/" + sha256 + ".yaml" }
    /// A quarantine entry's folder, and the record of why it is there.
    public func quarantineEntry(_ id: String) -> String { quarantine + "/" + id }
    public func quarantineReason(_ id: String) -> String { quarantineEntry(id) + "/reason.json" }
    /// The quarantined file of entry `id`, named `fileName` before (a dotfile gets a `_` first, so
    /// it is never taken for a temporary).
    public func quarantinedFile(_ id: String, fileName: String) -> String {
        quarantineEntry(id) + "/" + (fileName.hasPrefix(".") ? "_" + fileName : fileName)
    }
    public func lastRunRecord(_ stage: String) -> String { metrics + "/" + stage + ".last-run.json" }
    public func lastRunRecords() throws -> [String] {
        try Sys.listDirectory(metrics).filter { $0.hasSuffix(".last-run.json") }.sorted().map { file($0, in: metrics) }
    }
    /// A `flock` file under `locks/` (`name` without `.lock`).
    public func lockFile(_ name: String) -> String { locks + "/" + name + ".lock" }
    /// The locks of single missions (`locks/missions/<id>.lock`), taken by writers of a snapshot.
    public var missionLocks: String { locks + "/missions" }
    public func missionLock(_ id: String) -> String { lockFile("missions/" + id) }
    /// What `rgov simulate` generated, and the rules each mission should fire.
    public var simulationManifest: String { root + "/simulation-manifest.json" }
    /// The primary sender's health as the bridge last saw it: its consecutive failures and the
    /// outage in force (`ProviderOutage`).
    public var providerOutage: String { root + "/provider-outage.json" }
    /// Environment-local bindings (targets, sender commands): never committed, never exported.
    public var localBindings: String { root + "/bindings.local.yaml" }
    /// Where `rgov cron install` sends a tick's output unless told otherwise.
    public var tickLog: String { root + "/logs/tick.log" }
    /// The file `rgov doctor` writes and removes to prove the state folder takes new files.
    public func writeProbe(pid: Int32) -> String { root + "/.doctor-probe-" + String(pid) }
    /// The locks in `locks/`, by name (`tick`, `watchdog`, ...).
    public func lockNames() throws -> [String] {
        try Sys.listDirectory(locks).filter { $0.hasSuffix(".lock") }.map { String($0.dropLast(".lock".count)) }
            .sorted()
    }
    /// Immutable records in their day partitions.
    public func event(_ id: String, day: String) -> String { events + "/" + day + "/" + id + ".json" }
    public func decision(_ id: String, day: String) -> String { decisions + "/" + day + "/" + id + ".json" }
    public func evidenceRecord(_ id: String, day: String) -> String { evidence + "/" + day + "/" + id + ".json" }
    public func operatorActions(day: String) -> String { operatorActions + "/" + day }
    public func operatorAction(_ id: String, day: String) -> String { artifact(id, in: operatorActions(day: day)) }
    /// Open and closed watchdog episodes, and a watchdog run's artifact.
    public func openEpisode(_ id: String) -> String { artifact(id, in: openEpisodes) }
    public func closedEpisodes(day: String) -> String { watchdogRuns + "/episodes-closed/" + day }
    /// Late acks once taken in, by day.
    public func lateAckArchive(day: String) -> String { bridgeAcks + "/archive/" + day }
    /// A record of the profile's history (activations) by id.
    public func profileHistoryEvent(_ id: String) -> String { artifact(id, in: profileHistory) }
    public func watchdogRunFolder(day: String) -> String { watchdogRuns + "/" + day }
    /// The watchdog's record of its last run (when, and the latest time any run saw).
    public var watchdogLastRun: String { watchdogRuns + "/last-run.json" }
    /// `path` relative to the state folder (as records name files: a state moved elsewhere keeps
    /// its references).
    public func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// A path that `relative` made, under the state folder again (always under it, whatever the
    /// name says: a reference read from a record is never followed outside).
    public func resolve(_ relative: String) -> String { root + "/" + relative }

    /// The watchdog's scan cache: missions it may skip until a known time (`ScanCache`).
    public var watchdogScanCache: String { watchdogRuns + "/scan-cache.tsv" }
    public var watchdogEpisodeIndex: String { watchdogRuns + "/open-episodes.tsv" }
    /// The terminal statuses of missions the watchdog counted (`FinishedMissions`).
    public var watchdogFinishedMissions: String { watchdogRuns + "/finished-missions.tsv" }
    /// The bundle folders under `exports/`, as paths, and a bundle's manifest.
    public func bundles() throws -> [String] {
        try Sys.listDirectory(exports).map { file($0, in: exports) }.filter { Sys.isDirectory($0) }
    }

    /// An audit bundle's own layout, wherever it lies: `manifest.json`, and each artifact at a ref
    /// (`artifacts/<kind>/<name>`) relative to the bundle.
    public static func bundleManifest(_ bundle: String) -> String { bundle + "/manifest.json" }
    public static func bundleSignature(_ bundle: String) -> String { bundleManifest(bundle) + ".sig" }
    public static func bundleArtifactRef(kind: String, name: String) -> String { "artifacts/" + kind + "/" + name }
    public static func bundleFile(_ ref: String, in bundle: String) -> String { bundle + "/" + ref }
    public static func bundleArtifacts(_ bundle: String, kind: String? = nil) -> String {
        bundle + "/artifacts" + (kind.map { "/" + $0 } ?? "")
    }
    /// A writeback's approval or rejection, by its hashed file name.
    public func approval(_ fileName: String) -> String { approvals + "/" + fileName }
    public func receipt(_ id: String, day: String) -> String { receipts + "/" + day + "/" + id + ".json" }
    /// An attempt whose outcome is not recorded yet, and one concluded, in its day partition.
    public func inflightAttempt(_ id: String) -> String { inflightAttempts + "/" + id + ".json" }
    public func concludedAttempt(_ id: String, day: String) -> String { attempts + "/" + day + "/" + id + ".json" }

    /// An attempt's id: the notice's, then its number (`<notice>.a<n>`).
    public static func attemptID(notice: String, number: Int) -> String { notice + ".a" + String(number) }
    /// A receipt's id: `rcp-` and what it concludes (an attempt, or a notice's transition).
    public static func receiptID(_ concluded: String) -> String { "rcp-" + concluded }

    /// The concluded attempts of a notice, oldest day first (with `inflight`, those under way too).
    public func attemptFiles(of noticeID: String, inflight: Bool = false) throws -> [String] {
        let prefix = noticeID + "."
        return try (datedFiles(in: attempts) + (inflight ? files(in: inflightAttempts) : []))
            .filter { ($0 as NSString).lastPathComponent.hasPrefix(prefix) }
    }

    /// The receipts of a notice, oldest day first.
    public func receiptFiles(of noticeID: String) throws -> [String] {
        let prefix = Self.receiptID(noticeID + ".")
        return try datedFiles(in: receipts).filter { ($0 as NSString).lastPathComponent.hasPrefix(prefix) }
    }
    /// Profile activations waiting for a second operator.
    public var pendingActivations: String { profileHistory + "/pending" }
    public func pendingActivation(_ id: String) -> String { pendingActivations + "/" + id + ".json" }
    /// The Prometheus textfile and the counters behind it.
    public var metricsFile: String { metrics + "/rgov.prom" }
    public var metricsCounters: String { metrics + "/counters.json" }
    /// The summary of each finished day folder, so counts never read history again.
    public var noticeHistory: String { metrics + "/notice-history.json" }
    /// Which notices, receipts and attempts cannot be read, summarised per folder (`UnreadableRecords`).
    public var unreadableRecords: String { metrics + "/unreadable-records.json" }

    /// Whether a stage could use this state folder, without creating anything (`rgov validate`):
    /// an existing folder must be writable; a missing one must be creatable in its nearest
    /// existing ancestor.
    ///
    /// Returns what a person reads: "writable" or "will be created".
    public func checkUsable() throws -> String {
        switch Sys.kind(root) {
        case .directory:
            guard Sys.isWritableDirectory(root) else {
                throw RgovError(.cannotCreate, "state directory \(root) is not writable by \(Sys.userName())")
            }
            return "writable"
        case .missing:
            var ancestor = (root as NSString).deletingLastPathComponent
            if ancestor.isEmpty { ancestor = "." }
            while !Sys.exists(ancestor) && ancestor != "/" && ancestor != "." {
                ancestor = (ancestor as NSString).deletingLastPathComponent
                if ancestor.isEmpty { ancestor = "." }
            }
            guard Sys.isDirectory(ancestor), Sys.isWritableDirectory(ancestor) else {
                throw RgovError(.cannotCreate, "state directory \(root) cannot be created: \(ancestor) is not writable")
            }
            return "will be created by rgov init --state \(root)"
        default:
            throw RgovError(.cannotCreate, "state directory \(root) is not a folder")
        }
    }

    /// JSON artifact files directly in `folder`, skipping dotfiles, temporaries and subfolders; sorted.
    public func artifactNames(in folder: String) throws -> [String] {
        try Sys.listDirectory(folder).filter { $0.hasSuffix(".json") && !DurableFile.isHiddenOrTemporary($0) }.sorted()
    }

    /// The artifact files directly in `folder` (see `artifactNames`), as paths.
    public func files(in folder: String) throws -> [String] {
        try artifactNames(in: folder).map { folder + "/" + $0 }
    }

    /// The artifact files in every day partition of `base`, oldest day first, as paths.
    public func datedFiles(in base: String) throws -> [String] {
        try dayPartitions(in: base).flatMap { try files(in: day($0, in: base)) }
    }

    /// A file in `folder` by its artifact id (`<id>.json`).
    public func artifact(_ id: String, in folder: String) -> String { folder + "/" + Self.artifactName(id) }

    /// An artifact's file name from its id, and its id from its file name.
    public static func artifactName(_ id: String) -> String { id + ".json" }
    public static func artifactID(_ name: String) -> String {
        name.hasSuffix(".json") ? String(name.dropLast(".json".count)) : name
    }

    public func missionIDs() throws -> [String] { try artifactNames(in: missions).map(Self.artifactID) }

    /// The file named `name` (as listed) in `folder`.
    public func file(_ name: String, in folder: String) -> String { folder + "/" + name }

    /// A day partition of `base` (`<base>/YYYY-MM-DD`).
    public func day(_ day: String, in base: String) -> String { base + "/" + day }

    /// Where artifact `id` is under `base`: in it, or in its newest day folder that holds it; nil
    /// when nowhere (a spool handoff waiting or finished, an attempt in flight or filed).
    public func locate(_ id: String, in base: String) -> String? {
        for folder in [base] + ((try? dayPartitions(in: base)) ?? []).reversed().map({ day($0, in: base) }) {
            let path = artifact(id, in: folder)
            if Sys.kind(path) == .regular { return path }
        }
        return nil
    }

    /// Day partitions (`YYYY-MM-DD`) inside `folder`, oldest first; a link in place of one is
    /// refused (`Sys.confine`).
    public func dayPartitions(in folder: String) throws -> [String] {
        let isDay = { (name: String) in name.count == 10 && name.first?.isNumber == true }
        return try Sys.listSubdirectories(folder, refusingLinks: isDay).filter(isDay).sorted()
    }
}

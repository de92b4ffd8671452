import Foundation

/// One step of a profile's lifecycle that put nothing in force: a validation, a simulation, an
/// evaluation, or an activation or rollback refused or left waiting for a second operator.
///
/// What put a profile in force is a `ProfileLifecycleEvent` (`profile-history/`); these records live
/// beside it (`lifecycle-records/`), so what rollback and the active profile read is unchanged.
public struct LifecycleRecord: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case validate, simulate, evaluate, activate, approve_activation, rollback
    }

    /// `ok` (validate, simulate), `passed`/`failed` (evaluate), `refused`, `requested` (waits for approval).
    public enum Result: String, Codable, Sendable { case ok, passed, failed, refused, requested }

    /// What an evaluation ran: the state's missions under both profiles, and a seeded simulation.
    public struct Evaluation: Codable, Sendable, Equatable {
        /// The state's missions judged under the active profile and the candidate (`diff-profiles`).
        public var missions_evaluated: Int
        public var missions_skipped: Int
        public var missions_judged_differently: Int
        /// Findings the active profile raises with `block` or `critical` that the candidate drops or weakens.
        public var findings_weakened: Int
        public var seed: UInt64
        public var simulation_missions: Int
        /// Simulated missions the candidate flags with a rule the manifest did not plant there, and
        /// planted conditions of a rule the candidate enables that it did not raise.
        public var simulation_false_positives: Int
        public var simulation_missed: Int
        /// Planted rules the candidate does not enable (not judged, not a failure).
        public var simulation_rules_not_enabled: [String]

        public init(
            missions_evaluated: Int, missions_skipped: Int, missions_judged_differently: Int, findings_weakened: Int,
            seed: UInt64, simulation_missions: Int, simulation_false_positives: Int, simulation_missed: Int,
            simulation_rules_not_enabled: [String]
        ) {
            self.missions_evaluated = missions_evaluated
            self.missions_skipped = missions_skipped
            self.missions_judged_differently = missions_judged_differently
            self.findings_weakened = findings_weakened
            self.seed = seed
            self.simulation_missions = simulation_missions
            self.simulation_false_positives = simulation_false_positives
            self.simulation_missed = simulation_missed
            self.simulation_rules_not_enabled = simulation_rules_not_enabled
        }
    }

    public var schema = "rgov.lifecycle-record/v1"
    public var record_id: String
    public var action: Action
    /// The profile the step was about (the candidate), by reference and content hash.
    public var profile: String?
    public var profile_sha256: String?
    /// The state's active profile when the step was recorded.
    public var active_sha256: String?
    public var environment: StateEnvironment
    public var by: String
    public var os_user: String
    public var at: Date
    /// What the step read, each by SHA-256 (`profile`, `missions`, `simulation_manifest`, `bundle_manifest`).
    public var inputs: [String: String]
    public var result: Result
    public var reasons: [String]
    public var evaluation: Evaluation?
    /// What ran, in words (a simulation's size and seed, a validation's runtime).
    public var detail: String?
    /// A pending activation's id (`requested`).
    public var activation_id: String?
    /// The latest activation or rollback (`profile-history/`) when this was recorded: where the
    /// record stands in the history, whatever the clock said.
    public var after_event: String?

    public init(
        action: Action, profile: String?, profileSHA256: String?, by: String, result: Result, reasons: [String] = [],
        inputs: [String: String] = [:], evaluation: Evaluation? = nil, detail: String? = nil,
        activationID: String? = nil
    ) {
        self.record_id = ""
        self.action = action
        self.profile = profile
        self.profile_sha256 = profileSHA256
        self.active_sha256 = nil
        self.environment = .local
        self.by = by
        self.os_user = Sys.userName()
        self.at = Date(timeIntervalSince1970: 0)
        self.inputs = inputs
        self.result = result
        self.reasons = reasons
        self.evaluation = evaluation
        self.detail = detail
        self.activation_id = activationID
    }

    /// Whether this is a passing evaluation of the profile with content hash `sha256`.
    public func passes(_ sha256: String) -> Bool {
        action == .evaluate && result == .passed && profile_sha256 == sha256 && reasons.isEmpty
    }
}

/// A line of `rgov history`: a step that put a profile in force, or one that did not.
public enum LifecycleEntry: Sendable {
    case event(ProfileLifecycleEvent)
    case record(LifecycleRecord)

    public var at: Date {
        switch self {
        case .event(let e): e.at
        case .record(let r): r.at
        }
    }

    public var id: String {
        switch self {
        case .event(let e): e.event_id
        case .record(let r): r.record_id
        }
    }
}

extension ProfileLifecycle {
    /// Records one lifecycle step that put nothing in force, stamped with the time, the state's
    /// environment and its active profile; the one writer of `lifecycle-records/`.
    @discardableResult
    public func note(_ draft: LifecycleRecord) throws -> LifecycleRecord {
        guard !draft.by.isEmpty else { throw UsageError("--by NAME is required") }
        try Sys.makeDirectory(layout.lifecycleRecords)
        var record = draft
        record.at = clock.now()
        record.environment = StateInit.record(layout)?.environment ?? .local
        record.active_sha256 = active()?.snapshot_sha256
        record.after_event = try layout.artifactNames(in: layout.profileHistory).last.map(StateLayout.artifactID)
        var n = try layout.artifactNames(in: layout.lifecycleRecords).count + 1
        while true {
            record.record_id = "lcr-" + String(format: "%06d", n) + "-" + Timestamp.compact(record.at)
            if try DurableFile.create(
                try CanonicalJSON.encodeFile(record), at: layout.lifecycleRecord(record.record_id))
            {
                return record
            }
            n += 1
        }
    }

    /// Records `draft` where the folder is a state (it has an active profile), as the state's owner;
    /// nil elsewhere, or where this user cannot act as the owner (the step itself still ran).
    @discardableResult
    public func noteIfState(_ draft: LifecycleRecord) throws -> LifecycleRecord? {
        guard active() != nil else { return nil }
        do {
            try StateAccess.actAsOwner(layout)
        } catch let error as RgovError where error.exitCode == .noPermission {
            Log.info("rgov", "\(draft.action.rawValue) not recorded in \(layout.root): \(error.message)")
            return nil
        }
        return try note(draft)
    }

    /// Every lifecycle record of the state, oldest first (none when the folder is absent).
    public func records() throws -> [LifecycleRecord] {
        guard Sys.isDirectory(layout.lifecycleRecords) else { return [] }
        return try layout.files(in: layout.lifecycleRecords).map { path in
            do {
                return try CanonicalJSON.decode(LifecycleRecord.self, from: try Sys.readFile(path, limit: 1 << 20))
            } catch let error as DecodingError {
                throw RgovError.data("\(path): not a lifecycle record: \(error.described)")
            }
        }
    }

    /// The activations and rollbacks, and the records beside them, in the order they happened:
    /// each record after the event it was made after (`after_event`).
    public func entries() throws -> [LifecycleEntry] {
        let records = try records()
        let events = try history()
        let known = Set(events.map(\.event_id))
        var out = records.filter { $0.after_event.map { !known.contains($0) } ?? true }.map(LifecycleEntry.record)
        for event in events {
            out.append(.event(event))
            out += records.filter { $0.after_event == event.event_id }.map(LifecycleEntry.record)
        }
        return out
    }
}

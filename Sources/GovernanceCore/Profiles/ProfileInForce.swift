import Foundation

/// A state is the deployment: it exists because `rgov init` made it, it has one owner (the owner of its
/// folder), and one profile in force (its active profile, by content hash).
///
/// Every stage, verb, check and metric of a state uses that profile; nothing a caller names replaces it.
public enum StateAccess {
    /// The state folder must exist: only `rgov init` (or the first tick's `--missions-from`)
    /// makes one, so a mistyped `--state` creates nothing.
    public static func requireExisting(_ layout: StateLayout) throws {
        switch Sys.kind(layout.root) {
        case .directory: return
        case .missing:
            throw RgovError(
                .noInput,
                "no state folder at \(layout.root); create it with: rgov init --state \(layout.root) --profile ID")
        default:
            if Sys.isDirectory((layout.root as NSString).resolvingSymlinksInPath) { return }
            throw RgovError(.cannotCreate, "state folder \(layout.root) is not a folder")
        }
    }

    /// Before anything is written in the state: root becomes the state's owner (what it writes is
    /// then the owner's, and its records still name the invoking user); another user is refused
    /// (exit 77) naming the owner.
    public static func actAsOwner(_ layout: StateLayout) throws {
        try requireExisting(layout)
        guard let owner = StateOwner.of((layout.root as NSString).resolvingSymlinksInPath) else {
            throw RgovError(.cannotCreate, "state folder \(layout.root) is not a folder")
        }
        if owner.isCurrentUser { return }
        if Sys.effectiveUserID() == 0 {
            try owner.become()
            return
        }
        throw RgovError(
            .noPermission,
            "\(layout.root) belongs to \(owner.name) (uid \(owner.uid)); rgov acts on a state only as its owner: run it as "
                + "\(owner.name) (sudo -u \(owner.name) rgov ...), or as root, which acts as the owner")
    }
}

extension Deployment {
    /// The profile a caller named for a run (`--profile` or `RGOV_PROFILE`), and where it came from.
    public struct NamedProfile: Sendable {
        public var name: String
        public var from: String

        public init(_ name: String, from: String) {
            self.name = name
            self.from = from
        }
    }

    /// The deployment in force on a state: its active profile.
    ///
    /// A named profile must be that one (the same content hash), or the run is refused (exit 78) before
    /// anything is written. A state with no active profile yet takes the named one, else
    /// `minimal-solo-mode`; `adoptAs` records that as the state's first activation by that run (a reader
    /// records nothing).
    public static func inForce(_ request: Request, named: NamedProfile?, adoptAs run: String?) throws -> Deployment {
        let layout = StateLayout(root: request.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: request.clock)
        if let active = try lifecycle.activeProfile() {
            guard let named else { return try make(active, request) }
            let given = try loadProfile(named.name, root: try PackageRoot.locate())
            guard given.sha256 == active.sha256 else {
                throw ConfigurationError(
                    "\(named.from) \(named.name) is \(given.reference) (sha256 \(given.sha256.prefix(12))), but "
                        + "\(layout.root) runs its active profile \(active.reference) (sha256 \(active.sha256.prefix(12))); "
                        + "nothing was done. The state's active profile is what runs: drop \(named.from), or change it "
                        + "with: rgov activate \(named.name) --state \(layout.root) --by NAME --reason TEXT")
            }
            // The operator's own file, checked against the recorded hash: it holds what the
            // snapshot redacted.
            return try make(given, request)
        }
        if run != nil, StateInit.record(layout)?.environment == .production {
            // A production state's profiles pass the promotion gate: none is adopted by a run.
            throw ConfigurationError(
                "\(layout.root) is a production state with no active profile; nothing was done. Put one in force "
                    + "through the promotion gate: rgov activate PROFILE --state \(layout.root) --by NAME --reason TEXT"
            )
        }
        let source = named.map { "\($0.from) \($0.name)" } ?? "the default minimal-solo-mode"
        let deployment = try make(
            try loadProfile(named?.name ?? "minimal-solo-mode", root: try PackageRoot.locate()), request)
        if let run {
            try StateAccess.actAsOwner(layout)
            guard try lifecycle.adopt(deployment, by: run, source: source) != nil else {
                // Another run put its profile in force first: this run is judged against that one.
                return try inForce(request, named: named, adoptAs: nil)
            }
            Log.info(
                run, "\(layout.root) had no active profile; \(deployment.profileReference) is now in force (\(source))")
        }
        return deployment
    }
}

/// What `rgov init` records in a new state (`state.json`): when it was made, by whom, for which owner.
///
/// The owner is the folder's owner; doctor compares the two.
public struct StateRecord: Codable, Sendable, Equatable {
    public var schema = "rgov.state/v1"
    public var created_at: Date
    public var created_by: String
    public var sudo_user: String?
    public var owner: String
    public var owner_uid: UInt32
    public var profile: String
    public var profile_sha256: String
    /// Where the state runs in the promotion path; a state made before environments is `local`.
    public var environment: StateEnvironment? = nil
}

/// Making a state: the one place a state folder comes into being.
public enum StateInit {
    public struct Made: Codable, Sendable {
        public var state_dir: String
        public var created: Bool
        public var record: StateRecord
        public var activation: ProfileLifecycleEvent
    }

    /// Creates `deployment`'s state folder (0700; as root, for `owner` when given), records it, and puts
    /// `deployment`'s profile in force.
    ///
    /// A folder made by hand, with no active profile, is taken as it is; a state that already has an active
    /// profile is refused (exit 65).
    public static func create(
        _ candidate: Deployment, environment: StateEnvironment = .local, owner: StateOwner?, by: String, reason: String,
        evidence: PromotionEvidence? = nil
    ) throws -> Made {
        var deployment = candidate
        deployment.environment = environment
        let layout = deployment.layout
        guard !by.isEmpty, !reason.isEmpty else { throw UsageError("rgov init: --by and --reason must not be empty") }
        if let existing = Self.record(layout), (existing.environment ?? .local) != environment {
            throw RgovError.data(
                "\(layout.root) was recorded as a \((existing.environment ?? .local).rawValue) state "
                    + "(\(layout.stateRecord)); it is not made \(environment.rawValue) by rgov init")
        }
        let lifecycle = ProfileLifecycle(layout: layout, clock: deployment.clock)
        if Sys.exists(layout.root), let active = lifecycle.active() {
            throw RgovError.data(
                "\(layout.root) is already a state; its active profile is \(active.profile) (sha256 "
                    + "\(active.snapshot_sha256.prefix(12))); change it with: rgov activate PROFILE --state \(layout.root) "
                    + "--by NAME --reason TEXT")
        }
        let created: Bool
        do {
            created = try Sys.makeDirectory(layout.root)
        } catch let error as SystemCallError {
            throw RgovError(.cannotCreate, "cannot create the state folder \(layout.root): \(error)")
        }
        // What it writes from here (state.json, the snapshot, the activation) leaves temporaries
        // a crash may strand: registered, they are swept by the next run.
        Transaction.adopt(root: layout.root)
        if let owner, !owner.isCurrentUser {
            guard Sys.effectiveUserID() == 0 else {
                throw RgovError(.noPermission, "--owner needs root; run rgov init as \(owner.name) instead")
            }
            if created { try owner.take(layout.root) }
        }
        try StateAccess.actAsOwner(layout)
        try layout.prepare()
        let now = deployment.clock.now()
        let me = StateOwner.of(layout.root) ?? StateOwner(uid: Sys.effectiveUserID(), gid: 0)
        var record = StateRecord(
            created_at: now, created_by: Sys.userName(), sudo_user: Sys.environment("SUDO_USER"), owner: me.name,
            owner_uid: me.uid, profile: deployment.profileReference, profile_sha256: deployment.profile.sha256,
            environment: environment)
        if Sys.exists(layout.stateRecord) {
            record = Self.record(layout) ?? record
        } else {
            try DurableFile.write(try CanonicalJSON.encodeFile(record), to: layout.stateRecord)
        }
        let activation = try lifecycle.activate(deployment, by: by, reason: reason, evidence: evidence)
        return Made(state_dir: layout.root, created: created, record: record, activation: activation)
    }

    public static func describe(_ made: Made) -> String {
        (made.created ? "initialised a new state at " : "took the existing folder ") + made.state_dir
            + " (owner \(made.record.owner), environment \((made.record.environment ?? .local).rawValue)) with profile \(made.activation.profile) (sha256 "
            + "\(made.activation.snapshot_sha256.prefix(12))), as rgov init does"
    }

    /// The state's record, if `rgov init` made one.
    public static func record(_ layout: StateLayout) -> StateRecord? {
        (try? Sys.readFile(layout.stateRecord, limit: 1 << 16)).flatMap {
            try? CanonicalJSON.decode(StateRecord.self, from: $0)
        }
    }
}

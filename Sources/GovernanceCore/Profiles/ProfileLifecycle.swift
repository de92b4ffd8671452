import Foundation

/// One activation or rollback of a profile: who, when, why, and exactly what (the snapshot hash).
public struct ProfileLifecycleEvent: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable { case activate, rollback }

    public var schema = "rgov.profile-lifecycle/v1"
    public var event_id: String
    public var action: Action
    public var profile: String
    public var snapshot_sha256: String
    public var snapshot: String
    public var previous_sha256: String?
    public var capability_descriptor: String
    public var by: String
    public var os_user: String
    public var at: Date
    public var reason: String
    /// Where the profile requires approval to be put in force: the second operator who approved.
    public var approved_by: String? = nil
    public var approved_os_user: String? = nil
    public var approved_at: Date? = nil
    public var approval_reason: String? = nil
    /// On a production state, the passing evaluation that let the profile in: its record id, the
    /// environment it was made in, and the SHA-256 of the manifest of the bundle that carried it.
    public var evaluation_id: String? = nil
    public var evaluation_environment: StateEnvironment? = nil
    public var evaluation_bundle_sha256: String? = nil
}

/// The evaluation a production activation rests on (`PromotionGate`).
public struct PromotionEvidence: Codable, Sendable, Equatable {
    public var evaluation_id: String
    public var environment: StateEnvironment
    public var bundle_manifest_sha256: String?

    public init(evaluationID: String, environment: StateEnvironment, bundleManifestSHA256: String? = nil) {
        (evaluation_id, self.environment, bundle_manifest_sha256) = (evaluationID, environment, bundleManifestSHA256)
    }
}

/// An activation or rollback waiting for a second operator (`rgov approve activation ID`).
public struct PendingActivation: Codable, Sendable, Equatable {
    public var schema = "rgov.pending-activation/v1"
    public var activation_id: String
    public var action: ProfileLifecycleEvent.Action
    public var profile: String
    public var snapshot_sha256: String
    public var snapshot: String
    public var capability_descriptor: String
    public var by: String
    public var os_user: String
    public var at: Date
    public var reason: String
    /// The bundle given with `--evaluation` when the activation was asked for: checked again on approval.
    public var evaluation_bundle: String? = nil
}

/// Which profile the stages use when none is named.
public struct ActiveProfile: Codable, Sendable, Equatable {
    public var schema = "rgov.active-profile/v1"
    public var profile: String
    public var snapshot_sha256: String
    public var snapshot: String
    public var since: Date
    public var event_id: String
}

/// Profiles as a lifecycle (generate, validate, simulate, deploy, roll back): every profile in
/// force is stored once per content hash, and activations and rollbacks are records.
public struct ProfileLifecycle {
    public let layout: StateLayout
    public let clock: Clock

    /// Stores `profile`'s bytes at `profile-snapshots/<sha256>.yaml` unless already there, and,
    /// when it holds secrets, its bytes as written at `profile-private/<sha256>.yaml` (0600, never
    /// exported): `replacingPrivate` where an operator has just put it in force.
    @discardableResult
    public func storeSnapshot(_ profile: DeploymentProfile, replacingPrivate: Bool = false) throws -> String {
        try Sys.makeDirectory(layout.profileSnapshots)
        let path = layout.profileSnapshot(profile.sha256)
        if Sys.kind(path) != .regular { try DurableFile.create(Data(profile.text.utf8), at: path) }
        if !profile.originalText.isEmpty && profile.originalText != profile.text {
            let copy = layout.privateProfile(profile.sha256)
            if replacingPrivate || Sys.kind(copy) != .regular {
                try Sys.makeDirectory(layout.privateProfiles)
                try DurableFile.write(Data(profile.originalText.utf8), to: copy)
            }
        }
        return path
    }

    /// The profile in force, as it runs: its private copy (secrets included) where it has one,
    /// else its snapshot (the local layer supplies the secrets); either must match the recorded hash.
    public func activeProfile() throws -> DeploymentProfile? {
        guard let active = active() else { return nil }
        for path in [layout.privateProfile(active.snapshot_sha256), layout.profileSnapshot(active.snapshot_sha256)]
        where Sys.kind(path) == .regular {
            let text = String(decoding: try Sys.readFile(path, limit: 1 << 20), as: UTF8.self)
            let profile = try ConfigurationError.reading { try DeploymentProfile.parse(text, file: path) }
            guard profile.sha256 == active.snapshot_sha256 else {
                throw RgovError.data(
                    "\(path) does not match the active profile's sha256 \(active.snapshot_sha256) "
                        + "(\(layout.activeProfile)); put a profile in force again: rgov activate PROFILE --by NAME --reason TEXT"
                )
            }
            return profile
        }
        throw RgovError(
            .noInput,
            "the active profile \(active.profile) (sha256 \(active.snapshot_sha256.prefix(12))) has no snapshot at "
                + "\(layout.profileSnapshot(active.snapshot_sha256)); put a profile in force again: rgov activate PROFILE "
                + "--by NAME --reason TEXT")
    }

    /// Records the profile a run was given as the state's first active profile (a state made by hand or by
    /// an older rgov has none): from then on it is the profile in force.
    ///
    /// Nil when another run put one in force first (runs started together agree on one).
    public func adopt(_ deployment: Deployment, by run: String, source: String) throws -> ProfileLifecycleEvent? {
        try layout.prepare()
        return try StageLock.exclusively(layout.lockFile("profile-lifecycle")) {
            guard active() == nil else { return nil }
            return try record(
                .activate, deployment, by: run, reason: "first run on a state with no active profile: took \(source)")
        }
    }

    public func active() -> ActiveProfile? {
        (try? Sys.readFile(layout.activeProfile, limit: 1 << 16)).flatMap {
            try? CanonicalJSON.decode(ActiveProfile.self, from: $0)
        }
    }

    /// Makes a validated profile the one stages use when none is named.
    public func activate(
        _ deployment: Deployment, by: String, reason: String, evidence: PromotionEvidence? = nil
    ) throws -> ProfileLifecycleEvent {
        try record(.activate, deployment, by: by, reason: reason, evidence: evidence)
    }

    /// Records `deployment`'s profile as waiting for a second operator; nothing changes in force.
    public func request(
        _ action: ProfileLifecycleEvent.Action, _ deployment: Deployment, by: String, reason: String,
        evaluationBundle: String? = nil
    ) throws -> PendingActivation {
        guard !by.isEmpty, !reason.isEmpty else { throw UsageError("--by and --reason are required") }
        try layout.prepare()
        try Sys.makeDirectory(layout.pendingActivations)
        let snapshot = try storeSnapshot(deployment.profile)
        let now = clock.now()
        let pending = PendingActivation(
            activation_id: Identifier.derived("act", deployment.profile.sha256, Timestamp.format(now), by),
            action: action, profile: deployment.profileReference, snapshot_sha256: deployment.profile.sha256,
            snapshot: snapshot, capability_descriptor: deployment.descriptorReference, by: by,
            os_user: Sys.userName(), at: now, reason: reason, evaluation_bundle: evaluationBundle)
        try DurableFile.write(
            try CanonicalJSON.encodeFile(pending), to: layout.pendingActivation(pending.activation_id))
        return pending
    }

    /// Puts a pending activation in force, approved by a different operating-system user than
    /// the one who asked; both identities, times and reasons are recorded.
    ///
    /// `admit` judges the validated profile once more as it is put in force (on a production state,
    /// the evaluation it needs): it refuses by throwing, and names the evidence it rests on.
    public func approve(
        _ id: String, by: String, reason: String, validate: (DeploymentProfile) throws -> Deployment,
        admit: (Deployment, PendingActivation) throws -> PromotionEvidence? = { _, _ in nil }
    ) throws -> ProfileLifecycleEvent {
        let pending = try pending(id)
        guard !reason.isEmpty else { throw UsageError("--reason is required") }
        guard Sys.userName() != pending.os_user else {
            throw RgovError(
                .noPermission,
                "activation \(id) was asked for by \(pending.os_user); a different operator must approve it")
        }
        let text = String(decoding: try Sys.readFile(pending.snapshot, limit: 1 << 20), as: UTF8.self)
        guard SHA256.hex(of: text) == pending.snapshot_sha256 else {
            throw RgovError.data("snapshot \(pending.snapshot) no longer matches its hash")
        }
        let deployment = try validate(try DeploymentProfile.parse(text, file: pending.snapshot))
        let evidence = try admit(deployment, pending)
        let event = try record(
            pending.action, deployment, by: pending.by, reason: pending.reason, requestedBy: pending.os_user,
            approval: (by: by, osUser: Sys.userName(), reason: reason), evidence: evidence)
        try Sys.unlink(layout.pendingActivation(id))
        return event
    }

    /// The activation or rollback waiting for a second operator as `id`.
    public func pending(_ id: String) throws -> PendingActivation {
        guard Identifier.isValid(id),
            let data = try? Sys.readFile(layout.pendingActivation(id), limit: 1 << 20),
            let pending = try? CanonicalJSON.decode(PendingActivation.self, from: data)
        else { throw RgovError(.noInput, "no pending activation \(Identifier.quoted(id))") }
        return pending
    }

    /// The most recent earlier profile that still validates on this runtime.
    public func rollbackTarget(validate: (DeploymentProfile) throws -> Deployment) throws -> Deployment {
        let current = active()?.snapshot_sha256
        var skipped: [String] = []
        for event in try history().reversed() where event.snapshot_sha256 != current {
            guard !skipped.contains(event.snapshot_sha256) else { continue }
            let path = layout.profileSnapshot(event.snapshot_sha256)
            do {
                let text = String(decoding: try Sys.readFile(path, limit: 1 << 20), as: UTF8.self)
                guard SHA256.hex(of: text) == event.snapshot_sha256 else {
                    throw RgovError.data("snapshot \(path) does not match its hash")
                }
                return try validate(try DeploymentProfile.parse(text, file: path))
            } catch {
                skipped.append(event.snapshot_sha256)
                Log.info("rgov", "skipping \(event.profile) (\(event.snapshot_sha256.prefix(12))): \(error)")
            }
        }
        throw RgovError(.noInput, "no earlier known-good profile to roll back to")
    }

    /// Restores the most recent earlier profile that still validates on this runtime.
    public func rollback(by: String, reason: String, validate: (DeploymentProfile) throws -> Deployment) throws
        -> ProfileLifecycleEvent
    {
        try record(.rollback, try rollbackTarget(validate: validate), by: by, reason: reason)
    }

    public func history() throws -> [ProfileLifecycleEvent] {
        try layout.artifactNames(in: layout.profileHistory).map {
            try CanonicalJSON.decode(
                ProfileLifecycleEvent.self,
                from: try Sys.readFile(layout.file($0, in: layout.profileHistory), limit: 1 << 20))
        }
    }

    private func record(
        _ action: ProfileLifecycleEvent.Action, _ deployment: Deployment, by: String, reason: String,
        requestedBy: String? = nil, approval: (by: String, osUser: String, reason: String)? = nil,
        evidence: PromotionEvidence? = nil
    ) throws -> ProfileLifecycleEvent {
        guard !by.isEmpty, !reason.isEmpty else { throw UsageError("--by and --reason are required") }
        let profile = deployment.profile
        try layout.prepare()
        let snapshot = try storeSnapshot(profile, replacingPrivate: true)
        let now = clock.now()
        let sequence = try layout.artifactNames(in: layout.profileHistory).count + 1
        let id = "plc-" + String(format: "%06d", sequence) + "-" + Timestamp.compact(now)
        let event = ProfileLifecycleEvent(
            event_id: id, action: action, profile: profile.reference, snapshot_sha256: profile.sha256,
            snapshot: snapshot, previous_sha256: active()?.snapshot_sha256,
            capability_descriptor: deployment.descriptorReference, by: by, os_user: requestedBy ?? Sys.userName(),
            at: now, reason: reason, approved_by: approval?.by, approved_os_user: approval?.osUser,
            approved_at: approval == nil ? nil : now, approval_reason: approval?.reason,
            evaluation_id: evidence?.evaluation_id, evaluation_environment: evidence?.environment,
            evaluation_bundle_sha256: evidence?.bundle_manifest_sha256)
        guard
            try DurableFile.create(try CanonicalJSON.encodeFile(event), at: layout.profileHistoryEvent(id))
        else {
            throw RgovError(.temporaryFailure, "another activation was recorded at the same moment; try again")
        }
        let active = ActiveProfile(
            profile: profile.reference, snapshot_sha256: profile.sha256, snapshot: snapshot, since: now, event_id: id)
        try DurableFile.write(try CanonicalJSON.encodeFile(active), to: layout.activeProfile)
        return event
    }
}

/// `package-manifest.json`: what this package ships, each file with its SHA-256.
public struct PackageManifest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var version: String
        public var path: String
        public var sha256: String
    }

    public var schema = "rgov.package-manifest/v1"
    public var package = "rgov"
    public var version: String
    public var schemas: [Entry]
    public var policy_packs: [Entry]
    public var profiles: [Entry]
    public var capability_descriptors: [Entry]
    /// The profile `pluginVersion`s this package runs (`PackageInfo.pluginVersions`).
    public var plugin_versions: PluginVersions?

    /// The manifest the files under `root` call for.
    public static func build(root: String) throws -> PackageManifest {
        func entries(_ folder: String, _ suffix: String, _ describe: (String, Data) throws -> (String, String)) throws
            -> [Entry]
        {
            let package = PackageLayout(root: root)
            return try Sys.listDirectory(package.folder(folder)).filter { $0.hasSuffix(suffix) }.sorted().map { name in
                let data = try Sys.readFile(package.file(name, in: package.folder(folder)), limit: 4 << 20)
                let (id, version) = try describe(name, data)
                return Entry(
                    id: id, version: version, path: package.file(name, in: folder),
                    sha256: SHA256.hex(of: [UInt8](data)))
            }
        }
        return PackageManifest(
            version: PackageInfo.version,
            schemas: try entries("schemas", ".schema.json") { name, _ in (String(name.dropLast(12)), "v1") },
            policy_packs: try entries("policy-packs", ".yaml") { name, data in
                let pack = try PolicyPack.parse(String(decoding: data, as: UTF8.self), file: name)
                return (pack.id, pack.version)
            },
            profiles: try entries("profiles", ".yaml") { name, data in
                let profile = try DeploymentProfile.parse(String(decoding: data, as: UTF8.self), file: name)
                return (profile.id, profile.version)
            },
            capability_descriptors: try entries("capabilities", ".json") { name, data in
                let descriptor = try CapabilityDescriptor.parse(data, file: name)
                return (descriptor.id, descriptor.version)
            }, plugin_versions: PackageInfo.pluginVersions)
    }

    /// Differences between the manifest on disk and the files, one line each; empty when they agree.
    public static func verify(root: String) throws -> [String] {
        let path = PackageLayout(root: root).manifest
        guard Sys.kind(path) == .regular else { return ["\(path) is missing"] }
        let shipped = try CanonicalJSON.decode(PackageManifest.self, from: try Sys.readFile(path, limit: 4 << 20))
        let actual = try build(root: root)
        var problems: [String] = []
        if shipped.version != actual.version {
            problems.append("version: manifest \(shipped.version), package \(actual.version)")
        }
        if shipped.plugin_versions != actual.plugin_versions {
            let said = shipped.plugin_versions.map { "\($0.from) through \($0.through)" } ?? "nothing"
            problems.append(
                "plugin_versions: manifest \(said), package \(actual.plugin_versions.map { "\($0.from) through \($0.through)" } ?? "")"
            )
        }
        let listed = shipped.schemas + shipped.policy_packs + shipped.profiles + shipped.capability_descriptors
        let present = actual.schemas + actual.policy_packs + actual.profiles + actual.capability_descriptors
        for entry in listed {
            guard let file = present.first(where: { $0.path == entry.path }) else {
                problems.append("\(entry.path): listed but missing")
                continue
            }
            if file.sha256 != entry.sha256 {
                problems.append("\(entry.path): sha256 \(file.sha256) differs from the manifest's \(entry.sha256)")
            }
            if file.version != entry.version {
                problems.append("\(entry.path): version \(file.version), manifest says \(entry.version)")
            }
        }
        for file in present where !listed.contains(where: { $0.path == file.path }) {
            problems.append("\(file.path): shipped but not in the manifest")
        }
        return problems
    }
}

import Foundation

/// The manifest of an audit bundle (the seed's shape), listing every artifact with its SHA-256.
public struct BundleManifest: Codable, Sendable {
    public struct Artifact: Codable, Sendable, Equatable {
        public var kind: String
        public var ref: String
        public var sha256: String
    }

    public var schema = "rgov.bundle-manifest/v1"
    public var artifact_bundle_version = "1.0"
    public var plugin_package_version: String
    public var deployment_profile: String
    public var capability_descriptor: String
    public var task_id: String?
    public var correlation_id: String?
    /// For `rgov export --tenant`: the tenant whose missions the bundle holds.
    public var tenant_id: String? = nil
    public var since: Date?
    public var until: Date?
    public var created_at: Date
    /// Acked notices in the bundle by evidence kind: `synthetic` (a trial sender's) is never
    /// counted with the kinds that mean a person could have seen the notice.
    public var acks_by_kind: [String: Int]?
    public var artifacts: [Artifact]

    /// The head of one mission's evidence chain (its bundled `artifacts/chain/<mission>.jsonl`).
    public struct ChainHead: Codable, Sendable, Equatable {
        public var mission_id: String
        public var head_sha256: String
        public var links: Int
    }

    /// A record a chain names that the bundle does not hold, because `rgov prune` removed it.
    public struct Absent: Codable, Sendable, Equatable {
        public var mission_id: String
        public var kind: ChainLink.Kind
        public var id: String
    }

    public var chains: [ChainHead]? = nil
    /// SHA-256 over every chain head (`root(of:)`): one hash that pins every record of the bundle.
    public var root_sha256: String? = nil
    public var pruned: [Absent]? = nil

    /// The bundle's root: the SHA-256 of one line `<mission_id> <head_sha256>` per chain, sorted.
    public static func root(of chains: [ChainHead]) -> String {
        SHA256.hex(
            of: chains.sorted { $0.mission_id < $1.mission_id }.map { $0.mission_id + " " + $0.head_sha256 + "\n" }
                .joined())
    }
}

/// `rgov export`: everything needed to audit a mission (or a time window) on another machine.
public struct AuditExport: Sendable {
    public let deployment: Deployment

    public struct Result: Codable, Sendable {
        public var bundle: String
        public var tar: String
        public var artifacts: Int
        public var notices: Int
    }

    public func export(
        task: String?, since: Date?, until: Date?, tenant: String? = nil, to outDirectory: String?,
        signingKey: String? = nil
    ) throws -> Result {
        // Never beside a tick's moves: the records are read and copied under the notice lock, which
        // every change to a notice takes (a run that holds it longer than its wait: exit 75). A
        // bridge concluding sends publishes a receipt in one commit and its notice in the next, so
        // the bundle is verified before it is sealed, and made again when it caught that moment.
        var made: String? = nil
        do {
            var problems: [String] = []
            for round in 0..<Self.rounds {
                let (bundle, out, bundleID, artifacts, notices) = try deployment.ledger
                    .exclusively {
                        try gather(
                            task: task, window: (since, until), tenant: tenant, to: outDirectory, made: &made)
                    }
                var summary = AuditVerify.Verification(problems: [])
                problems = try AuditVerify.check(bundle, into: &summary)
                // Only a notice caught between its receipts' commit and its own is made again; any
                // other finding is the state's, exported as it is for verify to name.
                if !problems.contains(where: { $0.contains("does not end at its recorded head") }) {
                    return try seal(
                        bundle: bundle, out: out, bundleID: bundleID, artifacts: artifacts, notices: notices,
                        signingKey: signingKey)
                }
                Sys.removeTree(bundle)
                made = nil
                Sys.sleep(milliseconds: 20 * (round + 1))
            }
            throw RgovError(
                .temporaryFailure,
                "the state kept changing while it was exported (\(problems.first ?? "")); nothing was left behind, "
                    + "try again (rgov check-state says whether the state itself holds)")
        } catch {
            // Nothing half-made is left behind.
            if let made {
                Sys.removeTree(made)
                try? Sys.unlink(made + ".tar")
            }
            throw error
        }
    }

    /// How many times an export is made again when a tick changed the state under it.
    static let rounds = 8

    private func gather(
        task: String?, window: (since: Date?, until: Date?), tenant: String?, to outDirectory: String?,
        made: inout String?
    ) throws -> (bundle: String, out: String, bundleID: String, artifacts: Int, notices: Int) {
        let (since, until) = window
        let layout = deployment.layout
        let now = deployment.clock.now()
        if let task { _ = try Identifier.validate(task, what: "task id") }
        let store = NoticeStore(layout: layout)
        let (missions, notices) = try select(task: task, since: since, until: until, tenant: tenant, store: store)
        let chain = MissionChain(layout: layout)
        try reconcile(missions, notices: notices, chain: chain, now: now)
        var contents = Contents(profileHashes: [deployment.profile.sha256])
        try addChains(of: missions, to: &contents, chain: chain, store: store)
        // Lifecycle records (evaluations name missions of any tenant) go only in a window bundle of
        // the whole state, and only those made in its window.
        try addDeploymentRecords(
            naming: notices, lifecycleWindow: task == nil && tenant == nil ? (since, until) : nil, to: &contents)

        let out = outDirectory ?? layout.exports
        try Sys.makeDirectory(out)
        let bundleID =
            "bundle-"
            + (task ?? tenant.map { "tenant-" + (Identifier.isValid($0) ? $0 : Identifier.derived("t", $0)) }
                ?? "window") + "-"
            + Timestamp.compact(now)
        let bundle = layout.file(bundleID, in: out)
        guard try Sys.makeDirectory(bundle) else { throw RgovError(.cannotCreate, "\(bundle) exists already") }
        made = bundle
        let artifacts = try copy(contents, into: bundle)
        let manifest = BundleManifest(
            plugin_package_version: PackageInfo.version,
            deployment_profile: notices.last?.notice.profile ?? deployment.profileReference,
            capability_descriptor: notices.last?.notice.capability_descriptor ?? deployment.descriptorReference,
            task_id: task,
            correlation_id: task, tenant_id: tenant, since: since, until: until, created_at: now,
            acks_by_kind: NoticeStore.ackKinds(notices.map(\.notice)),
            artifacts: artifacts.sorted { $0.ref < $1.ref }, chains: contents.chains,
            root_sha256: BundleManifest.root(of: contents.chains),
            pruned: contents.pruned.isEmpty ? nil : contents.pruned)
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: StateLayout.bundleManifest(bundle))
        return (bundle, out, bundleID, artifacts.count, notices.count)
    }

    /// What a bundle holds: each file with its kind, the chains' bytes as they were read, their
    /// heads, the records a chain names that were pruned, and the profiles named by hash.
    private struct Contents {
        var files: [(kind: String, path: String)] = []
        var read: [String: Data] = [:]
        var chains: [BundleManifest.ChainHead] = []
        var pruned: [BundleManifest.Absent] = []
        var profileHashes: Set<String>

        mutating func add(_ kind: String, _ path: String) { files.append((kind, path)) }
        /// Adds `path` where it is a regular file.
        mutating func addFile(_ kind: String, _ path: String) { if Sys.kind(path) == .regular { add(kind, path) } }
    }

    /// The missions a bundle holds whole (the one asked for, each of the tenant's, or each with a
    /// notice in the window, of the tenant when one is named) and their notices.
    private func select(task: String?, since: Date?, until: Date?, tenant: String?, store: NoticeStore) throws
        -> (missions: Set<String>, notices: [(path: String, notice: Notice)])
    {
        let layout = deployment.layout
        let everyNotice = try store.all()
        let windowed = since != nil || until != nil
        let inWindow = everyNotice.map(\.notice).filter { n in
            (since.map { n.created_at >= $0 } ?? true) && (until.map { n.created_at <= $0 } ?? true)
                && (tenant == nil || n.tenant_id == tenant)
        }
        var missions: Set<String> = task.map { [$0] } ?? Set(inWindow.map(\.mission_id))
        if let tenant, !windowed {
            // A mission of the tenant that raised nothing is the tenant's too.
            for id in try layout.artifactNames(in: layout.missions).map(StateLayout.artifactID)
            where (try? MissionStore(layout: layout).read(id))?.tenant_id == tenant {
                missions.insert(id)
            }
        }
        let notices = everyNotice.filter { missions.contains($0.notice.mission_id) }
        // A window with no notice still exports the state's lifecycle records made in it (a staging
        // state's evaluations are the evidence a production activation asks for).
        let lifecycle = try ProfileLifecycle(layout: layout, clock: deployment.clock).records().filter { r in
            (since.map { r.at >= $0 } ?? true) && (until.map { r.at <= $0 } ?? true)
        }
        guard !missions.isEmpty || (tenant == nil && !lifecycle.isEmpty) else {
            throw RgovError(
                .noInput,
                tenant.map { "no missions of tenant \(Identifier.quoted($0))" + (windowed ? " in that window" : "") }
                    ?? "no notices or lifecycle records in that window")
        }
        if let task, notices.isEmpty, !Sys.exists(layout.mission(task)) {
            throw RgovError(.noInput, "no mission or notice \(Identifier.quoted(task)) in \(layout.root)")
        }
        return (missions, notices)
    }

    /// Each mission's snapshot, its chain as read once, and every record the chain links.
    private func addChains(
        of missions: Set<String>, to contents: inout Contents, chain: MissionChain, store: NoticeStore
    ) throws {
        let layout = deployment.layout
        for mission in missions.sorted() {
            contents.addFile("mission", layout.mission(mission))
            guard Sys.kind(layout.chain(mission)) == .regular else { continue }
            // The chain is read once: the bundle carries the very bytes its head was computed from,
            // whatever a watchdog appends after.
            let chainBytes = try chain.snapshot(of: mission)
            contents.read[layout.chain(mission)] = chainBytes
            let checked = MissionChain.check(chainBytes, mission: mission, label: layout.chain(mission))
            guard checked.problems.isEmpty else {
                throw RgovError.data(
                    checked.problems.joined(separator: "; ") + "; this state was altered, not exported")
            }
            let links = checked.links
            contents.add("chain", layout.chain(mission))
            contents.chains.append(
                BundleManifest.ChainHead(mission_id: mission, head_sha256: checked.head, links: links.count))
            for link in links {
                guard let path = try locate(link, store: store) else {
                    contents.pruned.append(BundleManifest.Absent(mission_id: mission, kind: link.kind, id: link.id))
                    continue
                }
                contents.add(link.kind.rawValue, path)
                // Every profile a record names by hash travels with it.
                if link.kind != .notice,
                    case .object(let o)? = try? CanonicalJSON.decode(
                        JSONValue.self, from: try Sys.readFile(path, limit: 8 << 20)),
                    case .string(let sha)? = o["profile_sha256"]
                {
                    contents.profileHashes.insert(sha)
                }
            }
        }
    }

    /// The records of the deployment the notices ran under: profile snapshots, which profile was
    /// in force, every activation and rollback with who asked and who approved, the operator
    /// actions on the deployment itself (no mission's chain holds them), capability descriptors.
    private func addDeploymentRecords(
        naming notices: [(path: String, notice: Notice)], lifecycleWindow: (since: Date?, until: Date?)?,
        to contents: inout Contents
    ) throws {
        let layout = deployment.layout
        contents.profileHashes.formUnion(notices.compactMap(\.notice.profile_sha256))
        // Validations, simulations, evaluations and refused or pending activations made in the
        // window, with the snapshot of each profile evaluated (a promotion's evidence names it by hash).
        if let (since, until) = lifecycleWindow, Sys.isDirectory(layout.lifecycleRecords) {
            for path in try layout.files(in: layout.lifecycleRecords) {
                guard let record = try? CanonicalJSON.decode(LifecycleRecord.self, from: try Sys.readFile(path)) else {
                    // Unreadable: carried as it is, for verify to name.
                    contents.add("lifecycle_record", path)
                    continue
                }
                guard since.map({ record.at >= $0 }) ?? true, until.map({ record.at <= $0 }) ?? true else { continue }
                if record.action == .evaluate, let sha = record.profile_sha256 { contents.profileHashes.insert(sha) }
                contents.add("lifecycle_record", path)
            }
        }
        let descriptors = Set([deployment.descriptorReference] + notices.map(\.notice.capability_descriptor))
        for sha in contents.profileHashes.sorted() { contents.addFile("profile_snapshot", layout.profileSnapshot(sha)) }
        contents.addFile("active_profile", layout.activeProfile)
        for path in try layout.files(in: layout.profileHistory) { contents.add("profile_history", path) }
        for path in try layout.datedFiles(in: layout.operatorActions) {
            if let action = try? CanonicalJSON.decode(OperatorAction.self, from: try Sys.readFile(path)),
                action.missions == nil
            {
                contents.add("operator_action", path)
            }
        }
        let package = PackageLayout(root: try PackageRoot.locate())
        for reference in descriptors.sorted() {
            let path = package.descriptor(reference.split(separator: "@").first.map(String.init) ?? reference)
            contents.addFile("capability_descriptor", path)
        }
    }

    /// Copies each file once into `bundle` (a chain as it was read), listing each with its hash.
    private func copy(_ contents: Contents, into bundle: String) throws -> [BundleManifest.Artifact] {
        var artifacts: [BundleManifest.Artifact] = []
        var seen: Set<String> = []
        for (kind, path) in contents.files where seen.insert(kind + path).inserted {
            let data = try contents.read[path] ?? Sys.readFile(path, limit: 64 << 20)
            let ref = StateLayout.bundleArtifactRef(kind: kind, name: (path as NSString).lastPathComponent)
            let target = StateLayout.bundleFile(ref, in: bundle)
            try Sys.makeDirectory(DurableFile.directory(of: target))
            try DurableFile.write(data, to: target)
            artifacts.append(BundleManifest.Artifact(kind: kind, ref: ref, sha256: SHA256.hex(of: [UInt8](data))))
        }
        return artifacts
    }

    /// Signs the bundle's manifest when asked, and packs the bundle into `<bundle>.tar` (0600).
    private func seal(
        bundle: String, out: String, bundleID: String, artifacts: Int, notices: Int, signingKey: String?
    ) throws -> Result {
        if let signingKey {
            // The key stays where it is: ssh-keygen reads it and writes only manifest.json.sig.
            let signed = try AuditVerify.run(
                "ssh-keygen",
                ["-Y", "sign", "-f", signingKey, "-n", AuditVerify.namespace, StateLayout.bundleManifest(bundle)],
                deadline: 60)
            guard signed.status == 0, Sys.kind(StateLayout.bundleSignature(bundle)) == .regular else {
                throw RgovError.io("ssh-keygen -Y sign failed: \(signed.stderrText)")
            }
            try Sys.setMode(StateLayout.bundleSignature(bundle), 0o600)
        }
        let tar = bundle + ".tar"
        let result = try AuditVerify.run("tar", ["-cf", tar, "-C", out, bundleID], deadline: 120)
        guard result.status == 0 else { throw RgovError.io("tar failed: \(result.stderrText)") }
        // Audit bundles hold who did what: readable by their owner only, whatever the umask.
        try Sys.setMode(tar, 0o600)
        return Result(bundle: bundle, tar: tar, artifacts: artifacts, notices: notices)
    }

    /// Where a link's record is now: the path it was linked at, a notice wherever its state put
    /// it, an attempt filed after its send; nil when it is gone (pruned).
    private func locate(_ link: ChainLink, store: NoticeStore) throws -> String? {
        let layout = deployment.layout
        if link.kind == .notice { return store.locate(link.id) }
        if link.kind == .spool { return layout.locate(link.id, in: layout.spool) }
        let recorded = layout.resolve(link.ref)
        if try Sys.checkedKind(recorded) == .regular { return recorded }
        return link.kind == .attempt ? layout.locate(link.id, in: layout.attempts) : nil
    }

    /// Links, late and saying so, every record of these missions that a crash kept from being
    /// linked when it was written.
    private func reconcile(
        _ missions: Set<String>, notices: [(path: String, notice: Notice)], chain: MissionChain, now: Date
    ) throws {
        let layout = deployment.layout
        var records: [(mission: String, kind: ChainLink.Kind, id: String, sha: String, path: String, at: Date)] = []
        func file(_ mission: String, _ kind: ChainLink.Kind, _ id: String, _ path: String?, _ at: Date) {
            guard let path, let data = try? Sys.readFile(path, limit: 8 << 20) else { return }
            records.append((mission, kind, id, SHA256.hex(of: [UInt8](data)), path, at))
        }
        let inspection = Inspection(layout: layout, now: now)
        for (path, notice) in notices {
            let headerSHA = try CanonicalJSON.sha256(notice.header)
            records.append((notice.mission_id, .notice, notice.notice_id, headerSHA, path, notice.created_at))
            let found = try inspection.chain(of: notice, at: path)
            file(notice.mission_id, .spool, notice.notice_id, found.files["spool"], found.spool?.dispatched_at ?? now)
            for a in found.attempts {
                let path =
                    layout.locate(a.attempt_id, in: layout.attempts)
                    ?? layout.locate(a.attempt_id, in: layout.inflightAttempts)
                file(notice.mission_id, .attempt, a.attempt_id, path, a.started_at)
            }
            for r in found.receipts {
                let path = layout.locate(r.receipt_id, in: layout.receipts)
                file(notice.mission_id, .receipt, r.receipt_id, path, r.recorded_at)
            }
        }
        for (kind, base) in [
            (ChainLink.Kind.evidence, layout.evidence), (.event, layout.events), (.decision, layout.decisions),
            (.operator_action, layout.operatorActions),
        ] {
            for path in try layout.datedFiles(in: base) {
                guard
                    case .object(let o)? = try? CanonicalJSON.decode(
                        JSONValue.self, from: try Sys.readFile(path, limit: 8 << 20))
                else { continue }
                var owners: [String] = []
                if case .string(let m)? = o["mission_id"] { owners = [m] }
                if case .array(let list)? = o["missions"] {
                    owners = list.compactMap { if case .string(let m) = $0 { m } else { nil } }
                }
                let id = StateLayout.artifactID((path as NSString).lastPathComponent)
                for mission in owners where missions.contains(mission) { file(mission, kind, id, path, now) }
            }
        }
        for mission in missions.sorted() {
            let linked = Set(try chain.links(of: mission).map { $0.kind.rawValue + ":" + $0.id })
            for r in records.filter({ $0.mission == mission && !linked.contains($0.kind.rawValue + ":" + $0.id) })
                .sorted(by: { $0.at < $1.at })
            {
                try chain.link(r.kind, id: r.id, sha256: r.sha, ref: r.path, mission: mission, at: r.at, late: true)
            }
        }
    }
}

/// `rgov verify BUNDLE`: recomputes every hash, walks every notice's chain, and checks delivery
/// truth inside the bundle, with nothing but the bundle.
public enum AuditVerify {
    /// What `verify` found: the problems (none: the bundle holds), and what its signature proves.
    public struct Verification: Sendable {
        public var problems: [String]
        /// The principal whose key signed the manifest, when a signature was checked and holds.
        public var signer: String?
        /// A signature is present but no allowed-signers file was given to check it.
        public var signedUnchecked = false
        /// What the chains hold: missions, links, links made late (at export, after a crash),
        /// records pruned, and the root over every head.
        public var chains = 0
        public var links = 0
        public var lateLinks = 0
        public var pruned = 0
        public var root: String?
    }

    /// The namespace of rgov's bundle signatures (`ssh-keygen -Y sign -n`).
    public static let namespace = "rgov-audit"

    /// Checks a bundle folder or `.tar`; a `.tar` is read entry by entry into a private scratch
    /// folder with limits (`TarReader`) and the folder is removed afterwards, whatever happens.
    ///
    /// A stop signal (the caller installed `Shutdown`) ends it at the next entry or artifact with
    /// `StopRequested`, after the scratch folder is removed.
    public static func verify(_ path: String, allowedSigners: String? = nil) throws -> Verification {
        try verify(path, allowedSigners: allowedSigners) { _ in () }.verification
    }

    /// `verify`, then `read` given the bundle's folder (inside the scratch folder of an archive,
    /// before it is removed): how a caller uses what a verified bundle holds.
    public static func verify<T>(_ path: String, allowedSigners: String?, then read: (String) throws -> T) throws
        -> (verification: Verification, read: T)
    {
        var directory = path
        var scratch: String? = nil
        defer { if let scratch { Sys.removeTree(scratch) } }
        if Sys.kind(path) == .regular {
            let entries = try TarReader.entries(of: path)
            let folder = NSTemporaryDirectory() + "rgov-verify-" + UUID().uuidString
            try Sys.makeDirectory(folder)
            scratch = folder
            try TarReader.extract(entries, into: folder)
            let tops = try Sys.listDirectory(folder)
            guard tops.count == 1, let inner = tops.first, Sys.isDirectory(StateLayout.bundleFile(inner, in: folder))
            else { throw RgovError.data("\(path): a bundle archive holds exactly one folder") }
            directory = StateLayout.bundleFile(inner, in: folder)
        } else if Sys.kind(path) == .directory {
            if let link = firstLink(under: path) {
                throw RgovError.data("\(link): a symbolic link inside the bundle; bundles hold files and folders only")
            }
        } else {
            throw RgovError(.noInput, "\(path): no bundle folder or archive there")
        }
        try Shutdown.checkpoint()
        var verification = Verification(problems: [])
        verification.problems = try check(directory, into: &verification)
        try Shutdown.checkpoint()
        let signature = StateLayout.bundleSignature(directory)
        let signed = Sys.kind(signature) == .regular
        switch (signed, allowedSigners) {
        case (true, let allowed?):
            switch try checkSignature(directory, allowedSigners: allowed) {
            case .success(let principal): verification.signer = principal
            case .failure(let problem): verification.problems.append(problem.message)
            }
        case (false, _?):
            verification.problems.append("manifest.json.sig: missing, but --allowed-signers asks for a signed bundle")
        case (true, nil): verification.signedUnchecked = true
        case (false, nil): break
        }
        return (verification, try read(directory))
    }

    /// The first symbolic link under `folder` (`lstat`, never followed), if any.
    static func firstLink(under folder: String) -> String? {
        for name in (try? Sys.listDirectory(folder)) ?? [] {
            let path = StateLayout.bundleFile(name, in: folder)
            switch Sys.kind(path) {
            case .symlink: return path
            case .directory: if let link = firstLink(under: path) { return link }
            default: continue
            }
        }
        return nil
    }

    /// `ssh-keygen -Y find-principals` then `-Y verify` over `manifest.json`: the signer, or why not.
    static func checkSignature(_ directory: String, allowedSigners: String) throws -> Result<String, RgovError> {
        let signature = StateLayout.bundleSignature(directory)
        let find = try run(
            "ssh-keygen", ["-Y", "find-principals", "-s", signature, "-f", allowedSigners], deadline: 30)
        guard find.status == 0, let principal = find.stdoutText.split(separator: "\n").first.map(String.init) else {
            return .failure(RgovError.data("manifest.json.sig: no key in \(allowedSigners) made this signature"))
        }
        let check = try run(
            "ssh-keygen", ["-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", namespace, "-s", signature],
            input: [UInt8](try Sys.readFile(StateLayout.bundleManifest(directory), limit: 64 << 20)), deadline: 30)
        guard check.status == 0 else {
            let problem = "the signature does not verify: the manifest changed since \(principal) signed it"
            return .failure(RgovError.data("manifest.json.sig: " + problem))
        }
        return .success(principal)
    }

    /// Runs `program` (`ssh-keygen`, `tar`) as this process's `PATH` finds it.
    static func run(_ program: String, _ arguments: [String], input: [UInt8] = [], deadline: Double) throws
        -> ChildResult
    {
        try ChildProcess.run(
            ChildSpec(
                executable: try ChildProcess.resolve(program, environment: ProcessInfo.processInfo.environment),
                arguments: arguments, standardInput: input, deadline: deadline))
    }

    /// Every hash, chain and transition of the bundle in `directory`.
    static func check(_ directory: String, into summary: inout Verification) throws -> [String] {
        guard Sys.kind(StateLayout.bundleManifest(directory)) == .regular else {
            return ["\(directory): no manifest.json"]
        }
        let manifest: BundleManifest
        do {
            manifest = try CanonicalJSON.decode(
                BundleManifest.self, from: try Sys.readFile(StateLayout.bundleManifest(directory)))
        } catch let error as DecodingError {
            throw RgovError.data("manifest.json: not a bundle manifest: \(error.described)")
        }
        guard !manifest.artifacts.isEmpty else { return ["manifest.json: lists no artifacts"] }
        let bundled = try readArtifacts(manifest, in: directory)
        var problems = bundled.problems + unlisted(in: directory, listed: bundled.listed)
        problems += checkChains(manifest, files: bundled.chainFiles, records: bundled.records, into: &summary)
        problems += checkLifecycle(bundled)
        for receipt in bundled.receipts {
            if bundled.notices[receipt.notice_id] == nil {
                problems.append("receipt \(receipt.receipt_id): its notice \(receipt.notice_id) is not in the bundle")
            }
            if receipt.delivery_state == .acked && !(receipt.ack_evidence?.isSufficient ?? false) {
                problems.append("receipt \(receipt.receipt_id): acked without sufficient ack evidence")
            }
        }
        // Synthetic acks are counted apart; a manifest that says otherwise relabels them.
        if let stated = manifest.acks_by_kind, stated != NoticeStore.ackKinds(Array(bundled.notices.values)) {
            problems.append("manifest.json: acks_by_kind \(stated) disagrees with the bundled notices")
        }
        for notice in bundled.notices.values.sorted(by: { $0.notice_id < $1.notice_id }) {
            try Shutdown.checkpoint()
            problems += checkDeliveryTruth(notice)
            problems += checkChain(notice, receipts: bundled.receipts.filter { $0.notice_id == notice.notice_id })
            // The exact profile by its hash where the notice names one; an edited profile that kept
            // its version is another snapshot.
            if let sha = notice.profile_sha256, bundled.profilesBySHA[sha] == nil {
                problems.append(
                    "notice \(notice.notice_id): its profile snapshot \(sha.prefix(12)) is not in the bundle")
            }
            let profile =
                notice.profile_sha256.flatMap { bundled.profilesBySHA[$0] } ?? bundled.profiles[notice.profile]
            problems += checkEvidence(
                notice, receipts: bundled.receipts, profile: profile, profilesBySHA: bundled.profilesBySHA)
        }
        return problems
    }

    /// What a bundle's artifacts hold, each read once and checked against its listed hash.
    struct Bundled {
        var problems: [String] = []
        var notices: [String: Notice] = [:]
        var receipts: [Receipt] = []
        var profiles: [String: DeploymentProfile] = [:]
        var profilesBySHA: [String: DeploymentProfile] = [:]
        var listed: Set<String> = []
        var chainFiles: [(mission: String, ref: String, data: Data)] = []
        var records: [String: (ref: String, data: Data)] = [:]
        var lifecycle: [(ref: String, record: LifecycleRecord)] = []
    }

    /// Reads every artifact the manifest lists: a missing one or a wrong hash is a problem, and
    /// notices, receipts, profile snapshots, chains and linked records are kept by what they are.
    static func readArtifacts(_ manifest: BundleManifest, in directory: String) throws -> Bundled {
        var bundled = Bundled()
        for artifact in manifest.artifacts {
            try Shutdown.checkpoint()
            bundled.listed.insert(artifact.ref)
            guard !artifact.ref.contains(".."),
                let data = try? Sys.readFile(StateLayout.bundleFile(artifact.ref, in: directory), limit: 64 << 20)
            else {
                bundled.problems.append("\(artifact.ref): listed in the manifest but missing")
                continue
            }
            if SHA256.hex(of: [UInt8](data)) != artifact.sha256 {
                bundled.problems.append("\(artifact.ref): sha256 does not match the manifest")
            }
            let name = (artifact.ref as NSString).lastPathComponent
            if artifact.kind == "chain" {
                bundled.chainFiles.append((String(name.dropLast(".jsonl".count)), artifact.ref, data))
            } else if ChainLink.Kind(rawValue: artifact.kind) != nil {
                bundled.records[artifact.kind + ":" + StateLayout.artifactID(name)] = (artifact.ref, data)
            }
            switch artifact.kind {
            case "notice":
                do {
                    let n = try CanonicalJSON.decode(Notice.self, from: data)
                    bundled.notices[n.notice_id] = n
                } catch { bundled.problems.append("\(artifact.ref): not a notice: \(error)") }
            case "receipt":
                do { bundled.receipts.append(try CanonicalJSON.decode(Receipt.self, from: data)) } catch {
                    bundled.problems.append("\(artifact.ref): not a receipt: \(error)")
                }
            case "lifecycle_record":
                do {
                    bundled.lifecycle.append((artifact.ref, try CanonicalJSON.decode(LifecycleRecord.self, from: data)))
                } catch { bundled.problems.append("\(artifact.ref): not a lifecycle record: \(error)") }
            case "profile_snapshot":
                if let profile = try? DeploymentProfile.parse(String(decoding: data, as: UTF8.self), file: artifact.ref)
                {
                    bundled.profiles[profile.reference] = profile
                    bundled.profilesBySHA[profile.sha256] = profile
                }
            default: break
            }
        }
        return bundled
    }

    /// Each lifecycle record holds together: an evaluation passed exactly when no reason stands
    /// against it, and the profile it evaluated is in the bundle by its hash.
    static func checkLifecycle(_ bundled: Bundled) -> [String] {
        var problems: [String] = []
        for (ref, record) in bundled.lifecycle {
            if record.schema != "rgov.lifecycle-record/v1" { problems.append("\(ref): schema \(record.schema)") }
            if (ref as NSString).lastPathComponent != StateLayout.artifactName(record.record_id) {
                problems.append("\(ref): holds record \(record.record_id)")
            }
            guard record.action == .evaluate else { continue }
            switch record.result {
            case .passed where !record.reasons.isEmpty:
                problems.append("\(ref): evaluation \(record.record_id) says passed but names reasons against it")
            case .failed where record.reasons.isEmpty:
                problems.append("\(ref): evaluation \(record.record_id) says failed but names no reason")
            case .passed, .failed: break
            default:
                problems.append("\(ref): evaluation \(record.record_id) has result \(record.result.rawValue)")
            }
            if record.evaluation == nil || record.inputs["profile"] != record.profile_sha256 {
                problems.append("\(ref): evaluation \(record.record_id) does not say what it ran on which profile")
            }
            if bundled.profilesBySHA[record.profile_sha256 ?? ""] == nil {
                problems.append(
                    "\(ref): the profile evaluation \(record.record_id) judged (sha256 "
                        + "\((record.profile_sha256 ?? "-").prefix(12))) is not in the bundle")
            }
        }
        return problems
    }

    /// Every file of the bundle the manifest does not list.
    static func unlisted(in directory: String, listed: Set<String>) -> [String] {
        let expected = ["manifest.json", "manifest.json.sig", "artifacts"]
        var problems = ((try? Sys.listDirectory(directory)) ?? []).filter { !expected.contains($0) }.map {
            "\($0): present but not in the manifest"
        }
        for kindFolder in (try? Sys.listDirectory(StateLayout.bundleArtifacts(directory))) ?? [] {
            for name in (try? Sys.listDirectory(StateLayout.bundleArtifacts(directory, kind: kindFolder))) ?? [] {
                let ref = StateLayout.bundleArtifactRef(kind: kindFolder, name: name)
                if !listed.contains(ref) { problems.append("\(ref): present but not in the manifest") }
            }
        }
        return problems
    }

    /// Every mission's chain, recomputed: each link continues the one before and ends at the head
    /// the manifest lists (and the heads at its root); each link's record is in the bundle with
    /// the hash linked (or was pruned, as a later prune in the chain says); each record of the
    /// bundle is linked in its mission's chain.
    static func checkChains(
        _ manifest: BundleManifest, files: [(mission: String, ref: String, data: Data)],
        records: [String: (ref: String, data: Data)], into summary: inout Verification
    ) -> [String] {
        guard let heads = manifest.chains, let root = manifest.root_sha256 else {
            return ["manifest.json: lists no evidence chains (a bundle without them proves nothing about its records)"]
        }
        var problems: [String] = []
        summary.root = root
        summary.pruned = manifest.pruned?.count ?? 0
        if root != BundleManifest.root(of: heads) {
            problems.append("manifest.json: root_sha256 is not the hash of its chain heads")
        }
        let pruned = Set((manifest.pruned ?? []).map { $0.mission_id + ":" + $0.kind.rawValue + ":" + $0.id })
        var linkedBy: [String: Set<String>] = [:]
        for (mission, ref, data) in files {
            let checked = MissionChain.check(data, mission: mission, label: ref)
            problems += checked.problems
            summary.chains += 1
            summary.links += checked.links.count
            summary.lateLinks += checked.links.filter { $0.late == true }.count
            guard let head = heads.first(where: { $0.mission_id == mission }) else {
                problems.append("\(ref): a chain the manifest lists no head for")
                continue
            }
            if head.head_sha256 != checked.head || head.links != checked.links.count {
                problems.append(
                    "\(ref): ends at \(checked.head.prefix(12)) after \(checked.links.count) links, not at the head the "
                        + "manifest lists (\(head.head_sha256.prefix(12)), \(head.links) links): links were added or removed"
                )
            }
            problems += checkLinks(
                checked.links, of: mission, in: ref, records: records, pruned: pruned, linkedBy: &linkedBy)
        }
        for head in heads where !files.contains(where: { $0.mission == head.mission_id }) {
            problems.append("manifest.json: lists a chain for \(head.mission_id), which is not in the bundle")
        }
        return problems + unchained(records, heads: heads, linkedBy: linkedBy)
    }

    /// Each link's record is in the bundle with the hash linked, or was pruned as a later prune in
    /// the chain says; `linkedBy` gathers which missions' chains link each record.
    static func checkLinks(
        _ links: [ChainLink], of mission: String, in ref: String, records: [String: (ref: String, data: Data)],
        pruned: Set<String>, linkedBy: inout [String: Set<String>]
    ) -> [String] {
        var problems: [String] = []
        for (index, link) in links.enumerated() {
            let key = link.kind.rawValue + ":" + link.id
            linkedBy[key, default: []].insert(mission)
            guard let record = records[key] else {
                let prunedLater = links[(index + 1)...].contains {
                    $0.kind == .operator_action
                        && records["operator_action:" + $0.id].flatMap {
                            try? CanonicalJSON.decode(OperatorAction.self, from: $0.data)
                        }?.action == "prune"
                }
                if !(pruned.contains(mission + ":" + key) && prunedLater) {
                    problems.append(
                        "\(ref): links \(link.kind.rawValue) \(link.id), which is not in the bundle (removed)")
                }
                continue
            }
            let sha =
                link.kind == .notice
                ? ((try? CanonicalJSON.decode(Notice.self, from: record.data)).flatMap {
                    try? CanonicalJSON.sha256($0.header)
                } ?? "") : SHA256.hex(of: [UInt8](record.data))
            if sha != link.sha256 {
                problems.append(
                    "\(record.ref): is not the \(link.kind.rawValue) that mission \(mission)'s chain linked (edited after it was recorded)"
                )
            }
        }
        return problems
    }

    /// Each record of the bundle that no chain of its missions links (a record of several missions,
    /// a bulk operator action, is linked in each of their chains the bundle holds).
    static func unchained(
        _ records: [String: (ref: String, data: Data)], heads: [BundleManifest.ChainHead],
        linkedBy: [String: Set<String>]
    ) -> [String] {
        var problems: [String] = []
        for (key, record) in records.sorted(by: { $0.key < $1.key }) {
            var owners: Set<String> = []
            if case .object(let o)? = try? CanonicalJSON.decode(JSONValue.self, from: record.data) {
                if case .string(let m)? = o["mission_id"] { owners = [m] }
                if case .array(let list)? = o["missions"] {
                    owners = Set(list.compactMap { if case .string(let m) = $0 { m } else { nil } })
                } else if key.hasPrefix("operator_action:") {
                    continue  // an action on the deployment, not on a mission
                }
            }
            let linked = linkedBy[key] ?? []
            if linked.isEmpty || !owners.intersection(heads.map(\.mission_id)).isSubset(of: linked) {
                problems.append("\(record.ref): in no chain of its mission (added after the fact)")
            }
        }
        return problems
    }

    static func checkDeliveryTruth(_ n: Notice) -> [String] {
        var problems: [String] = []
        let id = "notice \(n.notice_id)"
        guard let first = n.transitions.first, first.from == nil, first.to == .queued || first.to == .prepared else {
            return ["\(id): does not start with a creation into queued or prepared"]
        }
        var current = first.to
        for t in n.transitions.dropFirst() {
            if t.from != current {
                problems.append(
                    "\(id): transition at \(Timestamp.format(t.at)) starts from \(t.from?.rawValue ?? "nothing"), not \(current.rawValue)"
                )
            }
            if !current.legalSuccessors.contains(t.to) {
                problems.append("\(id): \(current.rawValue) -> \(t.to.rawValue) is not a legal transition")
            }
            current = t.to
        }
        if current != n.state {
            problems.append("\(id): state \(n.state.rawValue) disagrees with its last transition (\(current.rawValue))")
        }
        if n.state == .acked && !(n.ack_evidence?.isSufficient ?? false) {
            problems.append("\(id): acked without sufficient ack evidence")
        }
        return problems
    }

    /// An `acked` notice needs the receipt that carries its evidence, and evidence its own profile
    /// (the snapshot in the bundle) could produce: a dry-run never acks, a shim ack is synthetic, a
    /// sender ack needs a binding that declares acks, an attestation needs one of its operators.
    ///
    /// An attestation is judged by the profile in force when it was made (its receipt's profile
    /// hash), and a `group:NAME` entry admits only a user the ack recorded in that group.
    static func checkEvidence(
        _ n: Notice, receipts: [Receipt], profile: DeploymentProfile?, profilesBySHA: [String: DeploymentProfile] = [:]
    ) -> [String] {
        guard n.state == .acked, let evidence = n.ack_evidence else { return [] }
        let id = "notice \(n.notice_id)"
        var problems: [String] = []
        if !receipts.contains(where: { $0.receipt_id == evidence.receipt_id && $0.delivery_state == .acked }) {
            problems.append("\(id): acked without the receipt that carries its evidence")
        }
        guard let profile else { return problems + ["\(id): its profile \(n.profile) is not in the bundle"] }
        let binding = SenderBinding(mode: profile.senderMode, values: profile.binding)
        switch evidence.kind {
        case .sender_ack:
            if profile.senderMode == .shim || profile.senderMode == .dryRun || !binding.declaresAck {
                problems.append(
                    "\(id): a sender_ack, but \(profile.reference)'s \(profile.senderMode.rawValue) binding cannot ack")
            }
        case .synthetic:
            if profile.senderMode != .shim {
                problems.append(
                    "\(id): a synthetic ack, but \(profile.reference) sends with \(profile.senderMode.rawValue)")
            }
        case .operator_attestation:
            let ackReceipt = receipts.first { $0.receipt_id == evidence.receipt_id }
            let inForce = ackReceipt?.profile_sha256.flatMap { profilesBySHA[$0] } ?? profile
            let operators = inForce.operators
            let user = evidence.os_user ?? ""
            let groups = evidence.os_groups ?? []
            let admitted =
                operators.contains(user)
                || operators.contains { $0.hasPrefix("group:") && groups.contains(String($0.dropFirst(6))) }
            if !operators.isEmpty && !admitted {
                problems.append(
                    "\(id): attested by \(user) (groups \(groups.isEmpty ? "none recorded" : groups.joined(separator: ", "))), "
                        + "not an operator of \(inForce.reference) (\(operators.joined(separator: ", ")))")
            }
        case .external_ack:
            problems += checkExternalAck(n, receipts: receipts)
        }
        return problems
    }

    /// A late ack is proof only of a message a sender sent: its notice has the receipt of that send.
    static func checkExternalAck(_ n: Notice, receipts: [Receipt]) -> [String] {
        guard n.ack_evidence?.kind == .external_ack, !receipts.contains(where: \.recordsASend) else { return [] }
        return ["notice \(n.notice_id): an external_ack, but no sender ever sent it (no receipt of a send)"]
    }

    /// The notice's records (its transitions and its receipts) must form one unbroken chain from
    /// the header's hash to `chain_head_sha256`: a removed or edited record breaks it.
    static func checkChain(_ n: Notice, receipts: [Receipt]) -> [String] {
        var records: [(label: String, prev: String, sha: String)] = []
        for (i, t) in n.transitions.enumerated() {
            records.append(
                ("transition \(i + 1) (\(t.to.rawValue))", t.prev_sha256, (try? CanonicalJSON.sha256(t)) ?? ""))
        }
        for r in receipts {
            records.append(("receipt \(r.receipt_id)", r.prev_sha256, (try? CanonicalJSON.sha256(r)) ?? ""))
        }
        guard var head = try? CanonicalJSON.sha256(n.header) else {
            return ["notice \(n.notice_id): header cannot be hashed"]
        }
        var remaining = records
        while let index = remaining.firstIndex(where: { $0.prev == head }) {
            head = remaining[index].sha
            remaining.remove(at: index)
        }
        var problems = remaining.map {
            "notice \(n.notice_id): \($0.label) does not continue the chain (a record before it was removed or edited)"
        }
        if remaining.isEmpty && head != n.chain_head_sha256 {
            problems.append(
                "notice \(n.notice_id): the chain does not end at its recorded head (the last record was edited or removed)"
            )
        }
        return problems
    }
}

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
    public var since: Date?
    public var until: Date?
    public var created_at: Date
    /// Acked notices in the bundle by evidence kind: `synthetic` (a trial sender's) is never
    /// counted with the kinds that mean a person could have seen the notice.
    public var acks_by_kind: [String: Int]?
    public var artifacts: [Artifact]
}

/// `rgov export`: everything needed to audit a mission (or a time window) on another machine.
public struct AuditExport: Sendable {
    public let deployment: Deployment

    public init(deployment: Deployment) { self.deployment = deployment }

    public struct Result: Codable, Sendable {
        public var bundle: String
        public var tar: String
        public var artifacts: Int
        public var notices: Int
    }

    public func export(task: String?, since: Date?, until: Date?, to outDirectory: String?, signingKey: String? = nil)
        throws -> Result
    {
        let layout = deployment.layout
        let now = deployment.clock.now()
        if let task { _ = try Identifier.validate(task, what: "task id") }
        let inspection = Inspection(layout: layout, now: now)
        let notices = try NoticeStore(layout: layout).all().filter { item in
            let n = item.notice
            if let task { return n.mission_id == task }
            return (since.map { n.created_at >= $0 } ?? true) && (until.map { n.created_at <= $0 } ?? true)
        }
        guard !notices.isEmpty || task != nil else { throw RgovError(.noInput, "no notices in that window") }
        if let task, notices.isEmpty, !Sys.exists(layout.mission(task)) {
            throw RgovError(.noInput, "no mission or notice \(Identifier.quoted(task)) in \(layout.root)")
        }
        var files: [(kind: String, path: String)] = []
        var missions: Set<String> = []
        var profiles: Set<String> = []
        var descriptors: Set<String> = []
        for (path, notice) in notices {
            let chain = try inspection.chain(of: notice, at: path)
            for (key, file) in chain.files.sorted(by: { $0.key < $1.key }) where key != "mission" {
                files.append((key, file))
            }
            for a in chain.attempts {
                files.append(
                    ("attempt", try locate(a.attempt_id, in: layout.attempts, alsoIn: layout.inflightAttempts)))
            }
            for r in chain.receipts { files.append(("receipt", try locate(r.receipt_id, in: layout.receipts))) }
            missions.insert(notice.mission_id)
            profiles.insert(notice.profile)
            descriptors.insert(notice.capability_descriptor)
        }
        if let task { missions.insert(task) }
        for mission in missions.sorted() {
            let path = layout.mission(mission)
            if Sys.kind(path) == .regular { files.append(("mission", path)) }
        }
        // Records of these missions that no notice points at: evidence, resolved events, operator decisions.
        for (kind, base) in [("evidence", layout.evidence), ("event", layout.events), ("decision", layout.decisions)] {
            for day in try layout.dayPartitions(in: base) {
                for name in try layout.artifactNames(in: base + "/" + day) {
                    let path = base + "/" + day + "/" + name
                    guard !files.contains(where: { $0.path == path }),
                        case .object(let o)? = try? CanonicalJSON.decode(
                            JSONValue.self, from: try Sys.readFile(path, limit: 8 << 20)),
                        case .string(let m)? = o["mission_id"], missions.contains(m)
                    else { continue }
                    files.append((kind, path))
                }
            }
        }
        for name in try Sys.listDirectory(layout.profileSnapshots).sorted() where name.hasSuffix(".yaml") {
            let path = layout.profileSnapshots + "/" + name
            if let profile = try? DeploymentProfile.parse(
                String(decoding: try Sys.readFile(path), as: UTF8.self), file: path),
                profiles.contains(profile.reference)
            {
                files.append(("profile_snapshot", path))
            }
        }
        // Which profile was in force, and every activation and rollback with who asked and who approved.
        if Sys.kind(layout.activeProfile) == .regular { files.append(("active_profile", layout.activeProfile)) }
        for name in try layout.artifactNames(in: layout.profileHistory) {
            files.append(("profile_history", layout.profileHistory + "/" + name))
        }
        let root = try PackageRoot.locate()
        for reference in descriptors.union([deployment.descriptorReference]).sorted() {
            let id = reference.split(separator: "@").first.map(String.init) ?? reference
            let path = root + "/capabilities/" + id + ".json"
            if Sys.kind(path) == .regular { files.append(("capability_descriptor", path)) }
        }

        let out = outDirectory ?? layout.exports
        try Sys.makeDirectory(out)
        let bundleID = "bundle-" + (task ?? "window") + "-" + Timestamp.compact(now)
        let bundle = out + "/" + bundleID
        guard try Sys.makeDirectory(bundle) else { throw RgovError(.cannotCreate, "\(bundle) exists already") }
        var artifacts: [BundleManifest.Artifact] = []
        var seen: Set<String> = []
        for (kind, path) in files where !seen.contains(path) {
            seen.insert(path)
            let data = try Sys.readFile(path, limit: 64 << 20)
            let ref = "artifacts/" + kind + "/" + (path as NSString).lastPathComponent
            try Sys.makeDirectory(bundle + "/artifacts/" + kind)
            try DurableFile.write(data, to: bundle + "/" + ref)
            artifacts.append(BundleManifest.Artifact(kind: kind, ref: ref, sha256: SHA256.hex(of: [UInt8](data))))
        }
        let manifest = BundleManifest(
            plugin_package_version: PackageInfo.version,
            deployment_profile: notices.last?.notice.profile ?? deployment.profileReference,
            capability_descriptor: notices.last?.notice.capability_descriptor ?? deployment.descriptorReference,
            task_id: task,
            correlation_id: task, since: since, until: until, created_at: now,
            acks_by_kind: NoticeStore.ackKinds(notices.map(\.notice)),
            artifacts: artifacts.sorted { $0.ref < $1.ref })
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: bundle + "/manifest.json")
        if let signingKey {
            // The key stays where it is: ssh-keygen reads it and writes only manifest.json.sig.
            let signed = try ChildProcess.run(
                ChildSpec(
                    executable: try SendPlan.resolve("ssh-keygen", environment: ProcessInfo.processInfo.environment),
                    arguments: [
                        "-Y", "sign", "-f", signingKey, "-n", AuditVerify.namespace, bundle + "/manifest.json",
                    ],
                    deadline: 60))
            guard signed.status == 0, Sys.kind(bundle + "/manifest.json.sig") == .regular else {
                throw RgovError.io("ssh-keygen -Y sign failed: \(signed.stderrText)")
            }
            try Sys.setMode(bundle + "/manifest.json.sig", 0o600)
        }
        let tar = bundle + ".tar"
        let result = try ChildProcess.run(
            ChildSpec(
                executable: try SendPlan.resolve("tar", environment: ProcessInfo.processInfo.environment),
                arguments: ["-cf", tar, "-C", out, bundleID], deadline: 120))
        guard result.status == 0 else { throw RgovError.io("tar failed: \(result.stderrText)") }
        // Audit bundles hold who did what: readable by their owner only, whatever the umask.
        try Sys.setMode(tar, 0o600)
        return Result(bundle: bundle, tar: tar, artifacts: artifacts.count, notices: notices.count)
    }

    private func locate(_ id: String, in base: String, alsoIn extra: String? = nil) throws -> String {
        for day in try deployment.layout.dayPartitions(in: base) {
            let path = base + "/" + day + "/" + id + ".json"
            if Sys.kind(path) == .regular { return path }
        }
        if let extra, Sys.kind(extra + "/" + id + ".json") == .regular { return extra + "/" + id + ".json" }
        throw RgovError.data("artifact \(id) not found under \(base)")
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
    }

    /// The namespace of rgov's bundle signatures (`ssh-keygen -Y sign -n`).
    public static let namespace = "rgov-audit"

    /// Checks a bundle folder or `.tar`; a `.tar` is read entry by entry into a private scratch
    /// folder with limits (`TarReader`) and the folder is removed afterwards, whatever happens.
    public static func verify(_ path: String, allowedSigners: String? = nil) throws -> Verification {
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
            guard tops.count == 1, let inner = tops.first, Sys.isDirectory(folder + "/" + inner) else {
                throw RgovError.data("\(path): a bundle archive holds exactly one folder")
            }
            directory = folder + "/" + inner
        } else if Sys.kind(path) == .directory {
            if let link = firstLink(under: path) {
                throw RgovError.data("\(link): a symbolic link inside the bundle; bundles hold files and folders only")
            }
        } else {
            throw RgovError(.noInput, "\(path): no bundle folder or archive there")
        }
        var verification = Verification(problems: try check(directory))
        let signature = directory + "/manifest.json.sig"
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
        return verification
    }

    /// The first symbolic link under `folder` (`lstat`, never followed), if any.
    static func firstLink(under folder: String) -> String? {
        for name in (try? Sys.listDirectory(folder)) ?? [] {
            let path = folder + "/" + name
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
        let keygen = try SendPlan.resolve("ssh-keygen", environment: ProcessInfo.processInfo.environment)
        let signature = directory + "/manifest.json.sig"
        let find = try ChildProcess.run(
            ChildSpec(
                executable: keygen, arguments: ["-Y", "find-principals", "-s", signature, "-f", allowedSigners],
                deadline: 30))
        guard find.status == 0, let principal = find.stdoutText.split(separator: "\n").first.map(String.init) else {
            return .failure(RgovError.data("manifest.json.sig: no key in \(allowedSigners) made this signature"))
        }
        let check = try ChildProcess.run(
            ChildSpec(
                executable: keygen,
                arguments: ["-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", namespace, "-s", signature],
                standardInput: [UInt8](try Sys.readFile(directory + "/manifest.json", limit: 64 << 20)), deadline: 30))
        guard check.status == 0 else {
            return .failure(
                RgovError.data(
                    "manifest.json.sig: the signature does not verify: the manifest changed since \(principal) signed it"
                ))
        }
        return .success(principal)
    }

    /// Every hash, chain and transition of the bundle in `directory`.
    static func check(_ directory: String) throws -> [String] {
        guard Sys.kind(directory + "/manifest.json") == .regular else { return ["\(directory): no manifest.json"] }
        let manifest: BundleManifest
        do {
            manifest = try CanonicalJSON.decode(
                BundleManifest.self, from: try Sys.readFile(directory + "/manifest.json"))
        } catch let error as DecodingError {
            throw RgovError.data("manifest.json: not a bundle manifest: \(Watchdog.describe(error))")
        }
        guard !manifest.artifacts.isEmpty else { return ["manifest.json: lists no artifacts"] }
        var problems: [String] = []
        var notices: [String: Notice] = [:]
        var receipts: [Receipt] = []
        var profiles: [String: DeploymentProfile] = [:]
        var profilesBySHA: [String: DeploymentProfile] = [:]
        var listed: Set<String> = []
        for artifact in manifest.artifacts {
            listed.insert(artifact.ref)
            guard !artifact.ref.contains(".."),
                let data = try? Sys.readFile(directory + "/" + artifact.ref, limit: 64 << 20)
            else {
                problems.append("\(artifact.ref): listed in the manifest but missing")
                continue
            }
            if SHA256.hex(of: [UInt8](data)) != artifact.sha256 {
                problems.append("\(artifact.ref): sha256 does not match the manifest")
            }
            switch artifact.kind {
            case "notice":
                do {
                    let n = try CanonicalJSON.decode(Notice.self, from: data)
                    notices[n.notice_id] = n
                } catch { problems.append("\(artifact.ref): not a notice: \(error)") }
            case "receipt":
                do { receipts.append(try CanonicalJSON.decode(Receipt.self, from: data)) } catch {
                    problems.append("\(artifact.ref): not a receipt: \(error)")
                }
            case "profile_snapshot":
                if let profile = try? DeploymentProfile.parse(String(decoding: data, as: UTF8.self), file: artifact.ref)
                {
                    profiles[profile.reference] = profile
                    profilesBySHA[profile.sha256] = profile
                }
            default: break
            }
        }
        for kindFolder in (try? Sys.listDirectory(directory + "/artifacts")) ?? [] {
            for name in (try? Sys.listDirectory(directory + "/artifacts/" + kindFolder)) ?? [] {
                let ref = "artifacts/" + kindFolder + "/" + name
                if !listed.contains(ref) { problems.append("\(ref): present but not in the manifest") }
            }
        }
        for receipt in receipts {
            if notices[receipt.notice_id] == nil {
                problems.append("receipt \(receipt.receipt_id): its notice \(receipt.notice_id) is not in the bundle")
            }
            if receipt.delivery_state == .acked && !(receipt.ack_evidence?.isSufficient ?? false) {
                problems.append("receipt \(receipt.receipt_id): acked without sufficient ack evidence")
            }
        }
        // Synthetic acks are counted apart; a manifest that says otherwise relabels them.
        if let stated = manifest.acks_by_kind, stated != NoticeStore.ackKinds(Array(notices.values)) {
            problems.append("manifest.json: acks_by_kind \(stated) disagrees with the bundled notices")
        }
        for notice in notices.values.sorted(by: { $0.notice_id < $1.notice_id }) {
            problems += checkDeliveryTruth(notice)
            problems += checkChain(notice, receipts: receipts.filter { $0.notice_id == notice.notice_id })
            // The exact profile by its hash where the notice names one; an edited profile that kept
            // its version is another snapshot.
            if let sha = notice.profile_sha256, profilesBySHA[sha] == nil {
                problems.append(
                    "notice \(notice.notice_id): its profile snapshot \(sha.prefix(12)) is not in the bundle")
            }
            let profile = notice.profile_sha256.flatMap { profilesBySHA[$0] } ?? profiles[notice.profile]
            problems += checkEvidence(notice, receipts: receipts, profile: profile)
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
    static func checkEvidence(_ n: Notice, receipts: [Receipt], profile: DeploymentProfile?) -> [String] {
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
            let operators = profile.operators
            let user = evidence.os_user ?? ""
            if !operators.isEmpty && !operators.contains(user) && !operators.contains(where: { $0.hasPrefix("group:") })
            {
                problems.append("\(id): attested by \(user), not an operator of \(profile.reference)")
            }
        case .external_ack:
            break
        }
        return problems
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

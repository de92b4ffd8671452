import Foundation

/// What a `production` state asks before a profile is put in force (`rgov activate`, `rgov approve
/// activation`): a passing evaluation of exactly that profile's hash.
///
/// An evaluation made on this state counts, or one carried in a verified audit bundle exported
/// from a `staging` state. A profile that admits missions above `assisted` (the parameter of
/// `admission/autonomy-exceeded`, or no admission pack at all) or does not enable
/// `writeback-approval` needs the staging one: a production-local evaluation is not enough. A
/// `local` or `staging` state asks nothing. A refusal (exit 78) says which evidence is missing and
/// the commands that make it.
public struct PromotionGate {
    public let lifecycle: ProfileLifecycle
    /// `--evaluation BUNDLE`: an audit bundle (folder or `.tar`) from a staging state.
    public var bundle: String?
    /// `--allowed-signers FILE`: the bundle must be signed by one of these keys.
    public var allowedSigners: String?

    public init(lifecycle: ProfileLifecycle, bundle: String?, allowedSigners: String?) {
        (self.lifecycle, self.bundle, self.allowedSigners) = (lifecycle, bundle, allowedSigners)
    }

    /// The state's environment, failing closed: an unreadable `state.json` is refused, and a state
    /// without one whose records show production evidence is production.
    func environment() throws -> StateEnvironment {
        let layout = lifecycle.layout
        if let record = StateInit.record(layout) { return record.environment ?? .local }
        if Sys.exists(layout.stateRecord) {
            throw ConfigurationError(
                "\(layout.stateRecord) cannot be read, so the state's environment cannot be told; no profile is put "
                    + "in force until it is restored (rgov doctor --state \(layout.root))")
        }
        let production =
            try lifecycle.records().contains { $0.environment == .production }
            || lifecycle.history().contains { $0.evaluation_id != nil }
        return production ? .production : .local
    }

    /// Why `candidate` needs an evaluation recorded in staging; empty when one made here is enough.
    public static func stagingReasons(_ candidate: Deployment) -> [String] {
        var reasons: [String] = []
        if let rule = candidate.rules.first(where: { $0.ruleID == "admission/autonomy-exceeded" }) {
            let tier = rule.choice("max_autonomy_tier")
            if let parsed = MissionSnapshot.AutonomyTier(rawValue: tier), MissionSnapshot.AutonomyTier.assisted < parsed
            {
                reasons.append("its max_autonomy_tier is \(tier), above assisted")
            }
        } else {
            reasons.append("it does not enable the admission pack, so it admits any autonomy tier")
        }
        if !candidate.packs.contains(where: { $0.id == "writeback-approval" }) {
            reasons.append("it does not enable the writeback-approval pack")
        }
        return reasons
    }

    /// The evidence `candidate` is admitted on, nil where the state's environment asks none; else
    /// a refusal (exit 78) naming what is missing.
    ///
    /// `named` is how the refusal names the profile in the commands it suggests (the caller's argument).
    public func admit(_ candidate: Deployment, named: String? = nil) throws -> PromotionEvidence? {
        guard try environment() == .production else { return nil }
        let sha = candidate.profile.sha256
        let needsStaging = Self.stagingReasons(candidate)
        var problems: [String] = []
        if let bundle {
            switch try fromBundle(bundle, sha: sha) {
            case .success(let evidence): return evidence
            case .failure(let problem): problems.append(problem.message)
            }
        }
        let local = try lifecycle.records().filter { $0.action == .evaluate && $0.profile_sha256 == sha }
        if let passed = local.last(where: { $0.passes(sha) && $0.environment == .production }) {
            if needsStaging.isEmpty {
                return PromotionEvidence(evaluationID: passed.record_id, environment: .production)
            }
            problems.append(
                "evaluation \(passed.record_id) passed on this production state, but a production-local evaluation "
                    + "does not cover this profile")
        } else if let failed = local.last {
            problems.append(
                "the latest evaluation of this hash here, \(failed.record_id), \(failed.result.rawValue)"
                    + (failed.reasons.first.map { ": \($0)" } ?? ""))
        }
        let state = lifecycle.layout.root
        let name = named ?? candidate.profile.id
        let staging =
            "on a staging state: rgov evaluate \(name) --state STAGING --by NAME, then rgov export --state STAGING "
            + "--since T, then rgov activate \(name) --state \(state) --evaluation BUNDLE.tar --by NAME --reason TEXT"
        let needed: String
        if needsStaging.isEmpty {
            needed =
                "a passing evaluation of sha256 \(sha), made on this state (rgov evaluate \(name) --state \(state) "
                + "--by NAME) or " + staging
        } else {
            needed =
                "a passing evaluation of sha256 \(sha) recorded in a staging environment (a production-local one "
                + "does not cover it: \(needsStaging.joined(separator: "; "))), made " + staging
        }
        throw ConfigurationError(
            "\(state) is a production state: putting \(candidate.profileReference) (sha256 \(sha.prefix(12))) in "
                + "force needs \(needed)"
                + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; "))
                + "; nothing was changed")
    }

    /// The evidence the first profile of a new `production` state (`rgov init --environment production`)
    /// is put in force on: a state with no evaluation yet.
    ///
    /// A passing staging evaluation carried in `bundle`, where one is given; without one, only a
    /// profile that needs no staging evidence (assisted at most, writeback-approval on) is admitted,
    /// and every later activation asks this gate again. Else a refusal (exit 78).
    public func admitFirst(_ candidate: Deployment) throws -> PromotionEvidence? {
        let sha = candidate.profile.sha256
        if let bundle {
            switch try fromBundle(bundle, sha: sha) {
            case .success(let evidence): return evidence
            case .failure(let problem):
                throw ConfigurationError(
                    "\(problem.message); no production state was made at \(lifecycle.layout.root)")
            }
        }
        let needsStaging = Self.stagingReasons(candidate)
        guard needsStaging.isEmpty else {
            throw ConfigurationError(
                "a production state's first profile \(candidate.profileReference) (sha256 \(sha.prefix(12))) needs a "
                    + "passing evaluation recorded in a staging environment (\(needsStaging.joined(separator: "; "))): "
                    + "rgov evaluate \(candidate.profile.id) --state STAGING --by NAME, rgov export --state STAGING "
                    + "--since T, then rgov init --environment production --evaluation BUNDLE.tar ...; nothing was made"
            )
        }
        return nil
    }

    /// A passing staging evaluation of `sha` in the verified bundle at `path`, or why not.
    func fromBundle(_ path: String, sha: String) throws -> Result<PromotionEvidence, RgovError> {
        let checked: (AuditVerify.Verification, (String, [LifecycleRecord]))
        do {
            checked = try AuditVerify.verify(path, allowedSigners: allowedSigners) { directory in
                let manifestData = try Sys.readFile(StateLayout.bundleManifest(directory), limit: 64 << 20)
                let manifest = try CanonicalJSON.decode(BundleManifest.self, from: manifestData)
                var records: [LifecycleRecord] = []
                for artifact in manifest.artifacts where artifact.kind == "lifecycle_record" {
                    let data = try Sys.readFile(StateLayout.bundleFile(artifact.ref, in: directory), limit: 1 << 20)
                    if let record = try? CanonicalJSON.decode(LifecycleRecord.self, from: data) {
                        records.append(record)
                    }
                }
                return (SHA256.hex(of: [UInt8](manifestData)), records)
            }
        } catch let error as RgovError {
            // A bundle that cannot be read is no evidence: a refusal like any other (exit 78, recorded).
            return .failure(
                RgovError.data("the bundle \(path) cannot be verified (\(error.message)), so it is no evidence"))
        }
        let (verification, found) = checked
        guard verification.problems.isEmpty else {
            return .failure(
                RgovError.data(
                    "the bundle \(path) does not verify (\(verification.problems.prefix(3).joined(separator: "; "))), "
                        + "so it is no evidence"))
        }
        if allowedSigners == nil, verification.signedUnchecked {
            Log.info("rgov", "\(path) is signed, but no --allowed-signers was given: its signature was not checked")
        }
        let (manifestSHA, records) = found
        if let passed = records.last(where: { $0.passes(sha) && $0.environment == .staging }) {
            return .success(
                PromotionEvidence(
                    evaluationID: passed.record_id, environment: .staging, bundleManifestSHA256: manifestSHA))
        }
        let other = records.filter { $0.action == .evaluate && $0.profile_sha256 == sha }
        let said =
            other.isEmpty
            ? "it holds no evaluation of sha256 \(sha.prefix(12))"
            : "its evaluations of sha256 \(sha.prefix(12)) are "
                + other.map { "\($0.record_id) (\($0.result.rawValue), \($0.environment.rawValue))" }.joined(
                    separator: ", ")
        return .failure(RgovError.data("the bundle \(path) verifies, but \(said), and none passed on a staging state"))
    }
}

import Foundation

extension Verb {
    static let verify = Verb(
        CommandSpec(
            "rgov verify",
            summary:
                "check an audit bundle on any machine: every hash, chain and transition, delivery truth, signature",
            discussion: """
                An archive is read entry by entry into a private scratch folder (plain tar only; no links, no ..,
                size and depth limits) that is removed afterwards, also when SIGTERM, SIGINT or SIGHUP stops it (it
                then exits 128 + the signal number, with no verdict). Without a signature check the verdict says the
                bundle is consistent but unsigned: that proves it agrees with itself, not who made it.
                """,
            arguments: [ArgumentSpec("BUNDLE", "a bundle folder or its .tar")],
            options: [
                OptionSpec(
                    "allowed-signers", value: "FILE",
                    "ssh allowed-signers file: require manifest.json.sig and check it (ssh-keygen -Y verify)")
            ],
            shared: [.json],
            exits: [
                (.dataError, "the bundle does not hold, or is malformed or hostile (each problem named)"),
                (.noInput, "no bundle there"),
            ],
            example: "rgov verify /tmp/audit/bundle-crm-overdue-02.tar --allowed-signers allowed_signers")
    ) { options in
        // A stop ends it at the next entry or artifact; the scratch folder is removed on the way out.
        Shutdown.install()
        let result: AuditVerify.Verification
        do {
            result = try AuditVerify.verify(options.argument, allowedSigners: options.value("allowed-signers"))
        } catch {
            guard let status = Shutdown.exitStatus else { throw error }
            Log.info("rgov", "verify stopped by \(Shutdown.name(of: status - 128)); its scratch folder is removed")
            return status
        }
        if let status = Shutdown.exitStatus { return status }
        struct Verdict: Codable {
            var ok: Bool
            var problems: [String]
            var signed_by: String?
            var signature: String
            var chains: Int
            var links: Int
            var late_links: Int
            var pruned: Int
            var root_sha256: String?
        }
        let signature =
            result.signer.map { "signed by \($0) (namespace \(AuditVerify.namespace))" }
            ?? (result.signedUnchecked
                ? "signed, but not checked: give --allowed-signers FILE"
                : "consistent but UNSIGNED: this proves the bundle agrees with itself, not who made it")
        let ok = result.problems.isEmpty
        var held = "\(result.chains) mission chains, \(result.links) links, root \(result.root?.prefix(16) ?? "-")"
        if result.lateLinks > 0 {
            held += "; \(result.lateLinks) linked late (at export: a crash fell between a record and its link)"
        }
        if result.pruned > 0 { held += "; \(result.pruned) records pruned, as a prune in their chain says" }
        let text =
            ok
            ? "bundle verified: every hash, chain and transition holds\n" + held + "\n" + signature
            : result.problems.map { "FAIL " + $0 }.joined(separator: "\n")
        options.emit(
            Verdict(
                ok: ok, problems: result.problems, signed_by: result.signer, signature: signature,
                chains: result.chains, links: result.links, late_links: result.lateLinks, pruned: result.pruned,
                root_sha256: result.root), text)
        return ok ? 0 : ExitCode.dataError.rawValue
    }
}

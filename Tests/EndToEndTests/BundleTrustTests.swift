import Foundation
import Testing

@testable import GovernanceCore

/// Audit bundles against a forger and a hostile archive: signatures that a recomputed forgery
/// cannot pass, and a verifier that reads archives itself, with limits, and leaves nothing behind.
@Suite struct BundleTrustTests {
    static func exported(_ h: Harness, sign key: String? = nil) throws -> (bundle: String, tar: String) {
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let run = try h.run(
            "rgov", ["export", "--task", "crm-overdue-02", "--json"] + (key.map { ["--sign", $0] } ?? []))
        #expect(run.status == 0, "\(run.stderr)")
        func string(_ key: String) -> String {
            if case .string(let s)? = run.json?[key] { return s }
            return ""
        }
        return (string("bundle"), string("tar"))
    }

    /// A test key pair and an allowed-signers file naming it.
    static func keys(_ h: Harness) throws -> (key: String, allowed: String) {
        let key = h.dir + "/auditor"
        let made = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/ssh-keygen",
                arguments: ["-q", "-t", "ed25519", "-N", "", "-C", "auditor", "-f", key],
                deadline: 60))
        #expect(made.status == 0, "\(made.stderrText)")
        let publicKey = String(decoding: try Sys.readFile(key + ".pub"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let allowed = h.dir + "/allowed_signers"
        try DurableFile.write(Data("auditor@example.org namespaces=\"rgov-audit\" \(publicKey)\n".utf8), to: allowed)
        return (key, allowed)
    }

    /// Edits one notice in the bundle folder and recomputes its manifest entry: what a forger
    /// without the key can do.
    static func forge(_ bundle: String) throws {
        let manifestPath = bundle + "/manifest.json"
        var manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(manifestPath))
        let index = try #require(manifest.artifacts.firstIndex { $0.kind == "notice" })
        let path = bundle + "/" + manifest.artifacts[index].ref
        let text = String(decoding: try Sys.readFile(path), as: UTF8.self)
        let edited = Data(text.replacingOccurrences(of: "team-ops", with: "nobody-at-all").utf8)
        try DurableFile.write(edited, to: path)
        manifest.artifacts[index].sha256 = SHA256.hex(of: [UInt8](edited))
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: manifestPath)
    }

    @Test(.enabled(if: Sys.kind("/usr/bin/ssh-keygen") == .regular, "needs ssh-keygen (openssh-client)"))
    func aSignedBundleVerifiesAndARecomputedForgeryDoesNot() throws {
        let h = try Harness()
        let (key, allowed) = try Self.keys(h)
        let (bundle, tar) = try Self.exported(h, sign: key)
        #expect(!(try Sys.listDirectory(bundle)).contains { $0.contains("auditor") }, "the key is never copied")
        let good = try h.run("rgov", ["verify", tar, "--allowed-signers", allowed], pinned: false)
        #expect(good.status == 0 && good.stdout.contains("signed by auditor@example.org"), "\(good.stdout)")
        let unchecked = try h.run("rgov", ["verify", tar], pinned: false)
        #expect(unchecked.status == 0 && unchecked.stdout.contains("signed, but not checked"))
        try Self.forge(bundle)
        let forged = try h.run("rgov", ["verify", bundle, "--allowed-signers", allowed], pinned: false)
        #expect(forged.status == 65 && forged.stdout.contains("the signature does not verify"), "\(forged.stdout)")
    }

    @Test func anUnsignedBundleSaysSoPlainly() throws {
        let h = try Harness()
        let (bundle, _) = try Self.exported(h)
        let run = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(run.status == 0 && run.stdout.contains("consistent but UNSIGNED"))
        // Asking for a signature refuses an unsigned bundle, however consistent it is.
        let h2 = try Harness()
        let allowed = h2.dir + "/allowed"
        try DurableFile.write(Data(), to: allowed)
        let strict = try h.run("rgov", ["verify", bundle, "--allowed-signers", allowed], pinned: false)
        #expect(strict.status == 65 && strict.stdout.contains("manifest.json.sig: missing"))
    }

    @Test func theExportIsPrivateWhateverTheUmask() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh",
                arguments: [
                    "-c",
                    "umask 000; exec '\(Harness.bin)/rgov' export --task crm-overdue-02 --state '\(h.state)' "
                        + "--now \(Harness.now) --json",
                ], deadline: 120))
        #expect(run.status == 0, "\(run.stderrText)")
        let tar = try #require(
            try CanonicalJSON.decode(JSONValue.self, from: Data(run.stdout))["tar"].flatMap { v -> String? in
                if case .string(let s) = v { s } else { nil }
            })
        #expect(Sys.status(tar)?.mode == 0o600)
    }

    /// A hostile archive made with Python's tarfile: (name, python statements adding members to `t`).
    static let hostile: [(String, String)] = [
        (
            "symlink",
            "i=tarfile.TarInfo('b/artifacts/x');i.type=tarfile.SYMTYPE;i.linkname='/etc/hostname';t.addfile(i)"
        ),
        (
            "hardlink",
            "i=tarfile.TarInfo('b/artifacts/x');i.type=tarfile.LNKTYPE;i.linkname='/etc/hostname';t.addfile(i)"
        ),
        ("dotdot", "d=b'{}';i=tarfile.TarInfo('b/../../escaped.json');i.size=len(d);t.addfile(i,io.BytesIO(d))"),
        ("absolute", "d=b'{}';i=tarfile.TarInfo('/tmp/absolute.json');i.size=len(d);t.addfile(i,io.BytesIO(d))"),
        ("deep", "d=b'{}';i=tarfile.TarInfo('b/'+'d/'*20+'x.json');i.size=len(d);t.addfile(i,io.BytesIO(d))"),
        ("fifo", "i=tarfile.TarInfo('b/fifo');i.type=tarfile.FIFOTYPE;t.addfile(i)"),
    ]

    @Test func hostileArchivesAreRefusedAndLeaveNothingBehind() throws {
        let h = try Harness()
        // Each verify gets a temporary folder of its own, so what another test's verify holds in
        // the shared one meanwhile is not counted.
        let scratch = h.dir + "/scratch"
        try Sys.makeDirectory(scratch)
        /// Writes the archive `name` with Python's tarfile (`t` open in `mode`) and verifies it.
        func verify(_ name: String, mode: String = "'w',format=tarfile.GNU_FORMAT", _ members: String) throws
            -> Harness.Run
        {
            let tar = h.dir + "/" + name + ".tar"
            let made = try ChildProcess.run(
                ChildSpec(
                    executable: "/usr/bin/env",
                    arguments: [
                        "python3", "-c", "import io,tarfile\nt=tarfile.open('\(tar)',\(mode))\n\(members)\nt.close()",
                    ],
                    deadline: 120))
            try #require(made.status == 0, "\(made.stderrText)")
            return try h.run("rgov", ["verify", tar], env: ["TMPDIR": scratch], pinned: false)
        }
        for (name, members) in Self.hostile {
            let run = try verify(name, members)
            #expect(run.status == 65, "\(name): \(run.status) \(run.stdout)\(run.stderr)")
            #expect(try Sys.listDirectory(scratch).isEmpty, "\(name): nothing left behind")
            #expect(Sys.kind("/tmp/absolute.json") == .missing && Sys.kind(h.dir + "/escaped.json") == .missing)
        }
        // Well-formed entries, so they are unpacked into a scratch folder, but two top folders.
        let refused = try verify(
            "two", mode: "'w'",
            "for n in ['a/x.json','b/y.json']:\n i=tarfile.TarInfo(n);i.size=2;t.addfile(i,io.BytesIO(b'{}'))")
        #expect(refused.status == 65 && refused.stderr.contains("exactly one folder"), "\(refused.stderr)")
        #expect(try Sys.listDirectory(scratch).isEmpty, "the unpacked archive is removed")
        // A size bomb: a small gzip that would expand to 64 MB of zeros.
        let run = try verify(
            "bomb", mode: "'w:gz'",
            "d=bytes(64<<20)\ni=tarfile.TarInfo('b/zeros');i.size=len(d);t.addfile(i,io.BytesIO(d))")
        #expect(run.status == 65 && run.stderr.contains("compressed"), "\(run.stderr)")
        #expect(try Sys.listDirectory(scratch).isEmpty, "nothing left behind")
    }

    @Test func malformedAndEmptyManifestsAndLinkedFoldersAreRefusedWithTheReason() throws {
        let h = try Harness()
        let (bundle, _) = try Self.exported(h)
        let manifest = try Sys.readFile(bundle + "/manifest.json")
        try DurableFile.write(Data(#"{"artifacts": 7}"#.utf8), to: bundle + "/manifest.json")
        let malformed = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(malformed.status == 65 && malformed.stderr.contains("manifest.json: not a bundle manifest"))
        var empty = try CanonicalJSON.decode(BundleManifest.self, from: manifest)
        empty.artifacts = []
        try DurableFile.write(try CanonicalJSON.encodeFile(empty), to: bundle + "/manifest.json")
        let none = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(none.status == 65 && none.stdout.contains("lists no artifacts"))
        try DurableFile.write(manifest, to: bundle + "/manifest.json")
        try FileManager.default.createSymbolicLink(atPath: bundle + "/artifacts/sneaky", withDestinationPath: "/etc")
        let linked = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(linked.status == 65 && linked.stderr.contains("a symbolic link inside the bundle"))
    }

    @Test func aForgedAckWithARecomputedChainAndManifestIsRefused() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)  // minimal-solo-mode: dry-run, nothing acked
        let run = try h.run("rgov", ["export", "--task", "crm-overdue-02", "--json"])
        let bundle = try #require(
            run.json?["bundle"].flatMap { v -> String? in if case .string(let s) = v { s } else { nil } })
        let manifestPath = bundle + "/manifest.json"
        var manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(manifestPath))
        let index = try #require(manifest.artifacts.firstIndex { $0.kind == "notice" })
        let path = bundle + "/" + manifest.artifacts[index].ref
        let notice = try CanonicalJSON.decode(Notice.self, from: try Sys.readFile(path))
        // The forger appends a legal transition with evidence, recomputes the chain head and the manifest.
        let forged = try notice.transitioned(
            to: .acked, at: Harness.t0.addingTimeInterval(60), by: "rgov-bridge", reason: "sender_ack",
            evidence: AckEvidence(
                kind: .sender_ack, at: Harness.t0, message_id: "m-forged", sender_mode: ReceiptMode(.dryRun)))
        let bytes = try CanonicalJSON.encodeFile(forged)
        try DurableFile.write(bytes, to: path)
        manifest.artifacts[index].sha256 = SHA256.hex(of: [UInt8](bytes))
        manifest.acks_by_kind = ["sender_ack": 1]
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: manifestPath)
        let verify = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(verify.status == 65, "\(verify.stdout)")
        #expect(verify.stdout.contains("acked without the receipt that carries its evidence"))
        #expect(verify.stdout.contains("minimal-solo-mode@1.0.0's dry-run binding cannot ack"), "\(verify.stdout)")
    }

    @Test func aProfileEditedUnderTheSameVersionIsToldApart() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let export = try h.run("rgov", ["export", "--task", "crm-overdue-02", "--json"])
        let bundle = try #require(
            export.json?["bundle"].flatMap { v -> String? in if case .string(let s) = v { s } else { nil } })
        let manifestPath = bundle + "/manifest.json"
        var manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(manifestPath))
        let index = try #require(manifest.artifacts.firstIndex { $0.kind == "profile_snapshot" })
        // Same id@version, one threshold relaxed: a different profile, re-hashed into the manifest.
        let path = bundle + "/" + manifest.artifacts[index].ref
        let text = String(decoding: try Sys.readFile(path), as: UTF8.self)
            .replacingOccurrences(of: "grace_ms: 120000", with: "grace_ms: 300000")
        try DurableFile.write(Data(text.utf8), to: path)
        manifest.artifacts[index].sha256 = SHA256.hex(of: text)
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: manifestPath)
        let verify = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(verify.status == 65 && verify.stdout.contains("its profile snapshot"), "\(verify.stdout)")
    }
}

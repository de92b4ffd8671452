import Foundation
import Testing

@testable import GovernanceCore

/// A forger's corpus against `rgov verify`: each edit of an unsigned bundle that stops short of
/// recomputing every chain is refused, with the reason.
@Suite struct ForgeryCorpusTests {
    /// A bundle of one mission with every record class: event, decision, notice, spool handoff,
    /// attempt, receipt, and an operator action on the mission.
    static func bundle(_ h: Harness) throws -> String {
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let fail = try h.run(
            "rgov", ["mission", "fail", "crm-overdue-02", "--by", Sys.userName(), "--reason", "stuck"])
        #expect(fail.status == 0, "\(fail.stderr)")
        let run = try h.run("rgov", ["export", "--task", "crm-overdue-02", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        if case .string(let s)? = run.json?["bundle"] { return s }
        return ""
    }

    struct Bundle {
        let path: String
        var manifest: BundleManifest

        init(copying source: String, to path: String) throws {
            try FileManager.default.copyItem(atPath: source, toPath: path)
            self.path = path
            manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(path + "/manifest.json"))
        }

        func ref(_ kind: String, _ n: Int = 0) throws -> String {
            try #require(manifest.artifacts.filter { $0.kind == kind }.dropFirst(n).first).ref
        }

        func text(_ ref: String) throws -> String {
            String(decoding: try Sys.readFile(path + "/" + ref), as: UTF8.self)
        }

        /// Writes `text` at `ref` and, unless told not to, puts its new hash in the manifest.
        mutating func write(_ text: String, at ref: String, kind: String? = nil, rehash: Bool = true) throws {
            let data = Data(text.utf8)
            try Sys.makeDirectory((path + "/" + ref as NSString).deletingLastPathComponent)
            try DurableFile.write(data, to: path + "/" + ref)
            guard rehash else { return }
            let sha = SHA256.hex(of: [UInt8](data))
            if let i = manifest.artifacts.firstIndex(where: { $0.ref == ref }) {
                manifest.artifacts[i].sha256 = sha
            } else {
                manifest.artifacts.append(BundleManifest.Artifact(kind: kind ?? "event", ref: ref, sha256: sha))
            }
            try save()
        }

        mutating func remove(_ ref: String) throws {
            try Sys.unlink(path + "/" + ref)
            manifest.artifacts.removeAll { $0.ref == ref }
            try save()
        }

        func save() throws {
            try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: path + "/manifest.json")
        }
    }

    /// Each record class, edited (one text replaced) and re-hashed into the manifest.
    static let edits: [(kind: String, from: String, to: String)] = [
        ("event", "\"warning\"", "\"info\""), ("decision", "rgov-watchdog", "someone-else"),
        ("spool", "team-ops", "elsewhere"), ("attempt", "\"attempt_number\" : 1", "\"attempt_number\" : 2"),
        ("receipt", "rgov-bridge", "rgov-bridgE"), ("notice", "team-ops", "nobody"),
        ("operator_action", "stuck", "routine"),
    ]

    /// The corpus: what the forger does, and what verify must say.
    static var corpus: [(String, String, (inout Bundle) throws -> Void)] {
        edits.map { edit in
            (
                "edit a \(edit.kind) and re-hash", "is not the \(edit.kind) that mission crm-overdue-02's chain linked",
                { b in
                    let ref = try b.ref(edit.kind)
                    let text = try b.text(ref)
                    try #require(text.contains(edit.from), "\(edit.kind) holds \(edit.from)")
                    try b.write(text.replacingOccurrences(of: edit.from, with: edit.to), at: ref)
                }
            )
        } + [
            (
                "flip a byte", "sha256 does not match the manifest",
                { b in
                    let ref = try b.ref("event")
                    try b.write(
                        try b.text(ref).replacingOccurrences(of: "finding", with: "findinG"), at: ref, rehash: false)
                }
            ),
            (
                "delete a file", "listed in the manifest but missing",
                { b in try Sys.unlink(b.path + "/" + (try b.ref("spool"))) }
            ),
            (
                "add a top-level file", "extra.json: present but not in the manifest",
                { b in try DurableFile.write(Data("{}".utf8), to: b.path + "/extra.json") }
            ),
            (
                "add a record and list it", "in no chain of its mission",
                { b in
                    let ref = try b.ref("event")
                    try b.write(try b.text(ref), at: "artifacts/event/evt-invented.json", kind: "event")
                }
            ),
            (
                "delete a whole notice chain", "which is not in the bundle (removed)",
                { b in for kind in ["notice", "spool", "attempt", "receipt"] { try b.remove(try b.ref(kind)) } }
            ),
            (
                "delete a notice chain and call it pruned", "which is not in the bundle (removed)",
                { b in
                    for kind in ["notice", "spool", "attempt", "receipt"] { try b.remove(try b.ref(kind)) }
                    let links = MissionChain.check(
                        try Sys.readFile(b.path + "/" + (try b.ref("chain"))), mission: "crm-overdue-02", label: "c"
                    ).links
                    b.manifest.pruned = links.filter {
                        ["notice", "spool", "attempt", "receipt"].contains($0.kind.rawValue)
                    }
                    .map { BundleManifest.Absent(mission_id: "crm-overdue-02", kind: $0.kind, id: $0.id) }
                    try b.save()
                }
            ),
            (
                "remove a link from the chain and re-hash", "does not continue the chain",
                { b in
                    let ref = try b.ref("chain")
                    var lines = try b.text(ref).split(separator: "\n", omittingEmptySubsequences: false)
                    lines.remove(at: 1)
                    try b.write(lines.joined(separator: "\n"), at: ref)
                }
            ),
            (
                "cut the chain's last link and re-hash", "not at the head the manifest lists",
                { b in
                    let ref = try b.ref("chain")
                    var lines = try b.text(ref).split(separator: "\n").map(String.init)
                    lines.removeLast()
                    try b.write(lines.joined(separator: "\n") + "\n", at: ref)
                }
            ),
            (
                "move the root", "root_sha256 is not the hash of its chain heads",
                { b in
                    b.manifest.root_sha256 = String(repeating: "0", count: 64)
                    try b.save()
                }
            ),
            (
                "drop the chains from the manifest", "lists no evidence chains",
                { b in
                    b.manifest.chains = nil
                    try b.save()
                }
            ),
            (
                "reorder transitions and re-hash", "starts from",
                { b in
                    let ref = try b.ref("notice")
                    guard
                        case .object(var notice) = try CanonicalJSON.decode(
                            JSONValue.self, from: try Sys.readFile(b.path + "/" + ref)),
                        case .array(var transitions)? = notice["transitions"]
                    else { throw RgovError.data("not a notice") }
                    transitions.swapAt(1, 2)
                    notice["transitions"] = .array(transitions)
                    try b.write(
                        String(decoding: try CanonicalJSON.encodeFile(JSONValue.object(notice)), as: UTF8.self), at: ref
                    )
                }
            ),
        ]
    }

    @Test func everyForgeryShortOfRecomputingEveryChainIsRefusedWithTheReason() throws {
        let h = try Harness()
        let source = try Self.bundle(h)
        let clean = try h.run("rgov", ["verify", source], pinned: false)
        try #require(clean.status == 0, "the untouched bundle verifies: \(clean.stdout)")
        for (index, (name, reason, forge)) in Self.corpus.enumerated() {
            var bundle = try Bundle(copying: source, to: h.dir + "/forgery-\(index)")
            try forge(&bundle)
            let run = try h.run("rgov", ["verify", bundle.path], pinned: false)
            #expect(run.status == 65, "\(name): exit \(run.status)\n\(run.stdout)")
            #expect(run.stdout.contains(reason), "\(name): expected \"\(reason)\" in\n\(run.stdout)")
        }
    }

    @Test func aRecordACrashLeftUnlinkedIsLinkedLateAtExportAndSaysSo() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        // A crash between publishing a record and linking it: the chain lacks its last links.
        let chain = h.layout.chain("crm-overdue-02")
        var lines = String(decoding: try Sys.readFile(chain), as: UTF8.self).split(separator: "\n").map(String.init)
        let dropped = lines.removeLast()
        // A torn append (a power cut mid-line) is cut off too.
        try DurableFile.write(Data((lines.joined(separator: "\n") + "\n{\"at\":\"2026").utf8), to: chain)
        let run = try h.run("rgov", ["export", "--task", "crm-overdue-02", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let links = try MissionChain(layout: h.layout).links(of: "crm-overdue-02")
        let late = try #require(links.last)
        let original = try CanonicalJSON.decode(ChainLink.self, from: Data(dropped.utf8))
        #expect(late.late == true && late.id == original.id && late.sha256 == original.sha256)
        #expect(links.count == lines.count + 1, "exactly the missing link, once")
        if case .string(let bundle)? = run.json?["bundle"] {
            let verify = try h.run("rgov", ["verify", bundle], pinned: false)
            #expect(verify.status == 0 && verify.stdout.contains("1 linked late"), "\(verify.stdout)")
        }
    }
}

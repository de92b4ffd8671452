import Foundation
import Testing

@testable import GovernanceCore

/// No symbolic link is ever followed below a state folder's root: a folder of the state swapped
/// for a link (by whoever can write in the state) is refused by every verb and stage that would
/// touch it, with the link named and exit 73, and nothing is read or written where it points.
@Suite struct StateLinkTests {
    static let day = "2026-11-20"

    /// A state after a solo tick (receipts of unsent notices) and one ack at 12:20 (an operator
    /// action and an acked notice in their `2026-11-20` folders): one pending notice, one acked.
    func seeded(_ tag: String = #function) throws -> (h: Harness, pending: Notice, acked: Notice) {
        let h = try Harness(tag)
        try h.importExamples()
        let tick = try h.tick()
        try #require(tick.status == 0, "\(tick.stderr)")
        let first = try #require(try h.notices().first { $0.state == .pending_external_send })
        let ack = try h.run("rgov", ["ack", first.notice_id, "--by", "alice", "--now", "2026-11-20T12:20:00Z"])
        try #require(ack.status == 0, "\(ack.stderr)")
        let acked = try #require(try h.notices().first { $0.notice_id == first.notice_id })
        var pending: Notice? = nil
        for n in try h.notices() where n.state == .pending_external_send {
            if !(try h.layout.receiptFiles(of: n.notice_id)).isEmpty { pending = n }
        }
        return (h, try #require(pending, "a pending notice with receipts"), acked)
    }

    /// Replaces `folder` (relative to the state) with a link to `outside`, which then holds what
    /// the folder held: a follow would read the records there, or write beside them.
    @discardableResult
    func plant(_ h: Harness, _ folder: String, outside: String? = nil) throws -> (link: String, outside: String) {
        let link = h.state + "/" + folder
        let target = outside ?? h.dir + "/outside"
        try #require(Sys.kind(link) == .directory, "\(link) is a folder of the seeded state")
        try FileManager.default.moveItem(atPath: link, toPath: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        return (link, target)
    }

    /// Every file and folder under `folder`, with each file's SHA-256 (`lstat`, never followed).
    static func listing(_ folder: String) throws -> [String: String] {
        var found: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let relative = enumerator?.nextObject() as? String {
            let path = folder + "/" + relative
            found[relative] =
                Sys.kind(path) == .regular ? SHA256.hex(of: [UInt8](try Sys.readFile(path))) : "\(Sys.kind(path))"
        }
        return found
    }

    /// Runs `args` on the state at `--now` 12:40 and expects it refused: exit `status` (73 unless
    /// told), the link named in stderr, and the folder it points at exactly as before.
    func expectRefused(
        _ h: Harness, _ args: [String], link: String, outside: String, status: Int32 = 73,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try Self.listing(outside)
        let run = try h.run("rgov", args + (args.contains("--now") ? [] : ["--now", "2026-11-20T12:40:00Z"]))
        #expect(
            run.status == status, "rgov \(args.joined(separator: " ")): \(run.stderr)", sourceLocation: sourceLocation)
        #expect(
            run.stderr.contains(link + " is a symbolic link; rgov never follows a link inside a state folder"),
            "rgov \(args.joined(separator: " ")) names the link: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(
            try Self.listing(outside) == before, "rgov \(args.joined(separator: " ")) wrote through the link",
            sourceLocation: sourceLocation)
    }

    /// The verbs that touch each folder, each refused once the folder is a link.
    static let touching: [String: [String]] = [
        "metrics": ["ack", "status", "tick"],
        "operator-actions": ["ack", "hold", "export", "tick"],
        "operator-actions/2026-11-20": ["ack", "hold", "export"],
        "chains": ["ack", "hold", "export", "tick"],
    ]

    @Test(arguments: ["metrics", "operator-actions", "operator-actions/2026-11-20", "chains"])
    func aLinkedFolderIsRefusedByEveryVerbThatTouchesIt(folder: String) throws {
        let (h, pending, acked) = try seeded("linked-" + folder)
        let (link, outside) = try plant(h, folder)
        for verb in Self.touching[folder] ?? [] {
            let args: [String]
            switch verb {
            case "ack": args = ["ack", pending.notice_id, "--by", "alice"]
            case "hold": args = ["hold", "ALL", "--by", "alice"]
            case "export": args = ["export", "--task", acked.mission_id, "--out", h.dir + "/bundle"]
            case "tick": args = ["tick", "--profile", "minimal-solo-mode", "--now", "2026-11-20T12:45:00Z"]
            default: args = [verb]
            }
            try expectRefused(h, args, link: link, outside: outside)
        }
        #expect(Sys.kind(link) == .symlink, "the link is refused, not removed or replaced")
        let bundle = (try? Sys.listDirectory(h.dir + "/bundle")) ?? []
        #expect(bundle.isEmpty, "no bundle was written: \(bundle)")
    }

    /// A day folder swapped for a link is refused by the readers that list the days, never
    /// skipped: `show` would say the notice does not exist and `export` would leave its records
    /// out of the bundle (as pruned) without a word.
    @Test func aLinkedDayFolderIsRefusedByReadersInsteadOfSkipped() throws {
        let (h, pending, acked) = try seeded()
        let acks = try plant(h, "operator-notify-queue/acked/" + Self.day, outside: h.dir + "/outside-acked")
        try expectRefused(h, ["show", acked.notice_id], link: acks.link, outside: acks.outside)
        try expectRefused(h, ["status"], link: acks.link, outside: acks.outside)
        try expectRefused(
            h, ["export", "--task", acked.mission_id, "--out", h.dir + "/bundle"], link: acks.link,
            outside: acks.outside)
        // Put back, so the tick below meets only the receipts' day folder.
        try FileManager.default.removeItem(atPath: acks.link)
        try FileManager.default.moveItem(atPath: acks.outside, toPath: acks.link)
        let receipts = try plant(h, "operator-notify-bridge-receipts/" + Self.day, outside: h.dir + "/outside-receipts")
        try expectRefused(h, ["show", pending.notice_id], link: receipts.link, outside: receipts.outside)
        // The tick refuses too: its own check of the records it reports on meets the link first (73).
        try expectRefused(
            h, ["tick", "--profile", "minimal-solo-mode", "--now", "2026-11-20T12:45:00Z"], link: receipts.link,
            outside: receipts.outside, status: 73)
    }

    /// `--state` may itself be a link (the operator's choice); below it nothing is followed.
    @Test func theStateRootMayBeALinkButNothingBelowIt() throws {
        let (h, pending, _) = try seeded()
        let alias = h.dir + "/state-alias"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: h.state)
        let tick = try h.run(
            "rgov", ["tick", "--state", alias, "--profile", "minimal-solo-mode", "--now", "2026-11-20T12:30:00Z"])
        #expect(tick.status == 0, "\(tick.stderr)")
        let (_, outside) = try plant(h, "chains")
        try expectRefused(
            h, ["ack", pending.notice_id, "--by", "alice", "--state", alias], link: alias + "/chains",
            outside: outside)
        try expectRefused(
            h, ["hold", "ALL", "--by", "alice", "--state", alias], link: alias + "/chains", outside: outside)
        try expectRefused(
            h, ["tick", "--state", alias, "--profile", "minimal-solo-mode", "--now", "2026-11-20T12:45:00Z"],
            link: alias + "/chains", outside: outside)
    }
}

import Foundation

/// `rgov check-state`: every invariant of a state folder, checked from what is on disk.
///
/// Each violation is named with its file. What crash, soak and overlap tests assert after
/// recovery, and what an operator runs when something looks wrong.
public struct StateCheck: Sendable {
    /// One broken invariant.
    public struct Violation: Codable, Sendable, Equatable {
        /// The invariant, in a word: `unreadable`, `duplicate_notice`, `misfiled`, `transition`,
        /// `evidence`, `chain`, `orphan_receipt`, `attempt`, `finding_without_notice`, `mission_chain`,
        /// `stale_temporary`.
        public var invariant: String
        public var path: String
        public var detail: String
    }

    public struct Report: Codable, Sendable {
        public var state_dir: String
        public var notices: Int
        public var receipts: Int
        public var chains: Int
        public var violations: [Violation]
    }

    public let layout: StateLayout

    public func run() throws -> Report {
        var violations: [Violation] = []
        func violate(_ invariant: String, _ path: String, _ detail: String) {
            violations.append(Violation(invariant: invariant, path: path, detail: detail))
        }
        func violate(_ invariant: String, _ path: String, each problems: [String]) {
            for problem in problems { violate(invariant, path, problem) }
        }
        let (seen, notices) = try checkNotices(violate)
        let (receipts, receiptCount) = try checkReceipts(of: notices, violate)
        for (id, notice) in notices.sorted(by: { $0.key < $1.key }) {
            let path = seen[id] ?? id
            let own = receipts[id] ?? []
            violate("chain", path, each: AuditVerify.checkChain(notice, receipts: own))
            violate("evidence", path, each: AuditVerify.checkExternalAck(notice, receipts: own))
        }
        try checkAttempts(of: notices, receipts: receipts, violate)
        try checkEpisodes(of: notices, violate)
        // Mission chains continue link to link.
        let chained = try layout.chainedMissions()
        for mission in chained {
            let path = layout.chain(mission)
            let data = try Sys.readFile(path, limit: MissionChain.sizeLimit)
            let checked = MissionChain.check(data, mission: mission, label: path, live: true)
            violate("mission_chain", path, each: checked.problems)
        }
        // Temporaries whose writer is gone.
        for path in try temporaries(under: layout.root) {
            violate("stale_temporary", path, "a temporary of a process that is gone")
        }
        return Report(
            state_dir: layout.root, notices: notices.count, receipts: receiptCount, chains: chained.count,
            violations: violations)
    }

    /// Names a broken invariant: the invariant, the file, what is wrong.
    typealias Violate = (_ invariant: String, _ path: String, _ detail: String) -> Void

    /// Every notice readable, in one folder, the folder its state says, its transitions legal: each
    /// one's path and each notice, by id.
    private func checkNotices(_ violate: Violate) throws -> (paths: [String: String], notices: [String: Notice]) {
        let store = NoticeStore(layout: layout)
        var seen: [String: String] = [:]
        var notices: [String: Notice] = [:]
        for path in try store.folders().flatMap({ try layout.files(in: $0) }) {
            guard let notice = try? store.read(path) else {
                violate("unreadable", path, "not a whole notice where readers look")
                continue
            }
            if let other = seen[notice.notice_id] {
                violate("duplicate_notice", path, "notice \(notice.notice_id) is also at \(other)")
            }
            seen[notice.notice_id] = path
            notices[notice.notice_id] = notice
            if store.path(for: notice) != path {
                violate("misfiled", path, "its state \(notice.state.rawValue) belongs in \(store.path(for: notice))")
            }
            for problem in AuditVerify.checkDeliveryTruth(notice) {
                violate(problem.contains("ack evidence") ? "evidence" : "transition", path, problem)
            }
        }
        return (seen, notices)
    }

    /// Every receipt names a notice that exists: the receipts by notice, and how many are filed.
    private func checkReceipts(
        of notices: [String: Notice], _ violate: Violate
    ) throws -> (byNotice: [String: [Receipt]], count: Int) {
        var receipts: [String: [Receipt]] = [:]
        var receiptCount = 0
        for path in try layout.datedFiles(in: layout.receipts) {
            receiptCount += 1
            guard let data = try? Sys.readFile(path, limit: 8 << 20),
                let receipt = try? CanonicalJSON.decode(Receipt.self, from: data)
            else {
                violate("unreadable", path, "not a whole receipt where readers look")
                continue
            }
            guard notices[receipt.notice_id] != nil else {
                violate("orphan_receipt", path, "its notice \(receipt.notice_id) is in no state folder")
                continue
            }
            receipts[receipt.notice_id, default: []].append(receipt)
        }
        return (receipts, receiptCount)
    }

    /// Attempts: one in flight is recoverable while its notice exists; a filed one has its receipt.
    private func checkAttempts(of notices: [String: Notice], receipts: [String: [Receipt]], _ violate: Violate) throws {
        for path in try layout.files(in: layout.inflightAttempts) {
            guard let attempt = try? CanonicalJSON.decode(SenderAttempt.self, from: try Sys.readFile(path)) else {
                violate("unreadable", path, "not a whole attempt record")
                continue
            }
            if notices[attempt.notice_id] == nil {
                violate("attempt", path, "in flight for notice \(attempt.notice_id), which is in no state folder")
            }
        }
        for path in try layout.datedFiles(in: layout.attempts) {
            guard let attempt = try? CanonicalJSON.decode(SenderAttempt.self, from: try Sys.readFile(path)) else {
                violate("unreadable", path, "not a whole attempt record")
                continue
            }
            if !(receipts[attempt.notice_id] ?? []).contains(where: { $0.attempt_id == attempt.attempt_id }) {
                violate("attempt", path, "filed as concluded, but no receipt records it")
            }
        }
    }

    /// A finding the watchdog holds open has its notice.
    private func checkEpisodes(of notices: [String: Notice], _ violate: Violate) throws {
        for path in try layout.files(in: layout.openEpisodes) {
            guard let episode = try? CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path)) else {
                violate("unreadable", path, "not a whole episode")
                continue
            }
            if let id = episode.notice_id, notices[id] == nil {
                violate(
                    "finding_without_notice", path, "episode \(episode.episode_id) names notice \(id), which is missing"
                )
            }
        }
    }

    /// Dotfile temporaries (`.<name>.<pid>.<n>.tmp`, `.<name>.<pid>.b<n>.tmp`) whose process is gone.
    private func temporaries(under folder: String) throws -> [String] {
        var found: [String] = []
        for name in try Sys.listDirectory(folder) {
            let path = layout.file(name, in: folder)
            if Sys.kind(path) == .directory {
                if name != "locks" { found += try temporaries(under: path) }
                continue
            }
            guard name.hasPrefix("."), name.hasSuffix(".tmp") else { continue }
            let parts = name.split(separator: ".")
            guard parts.count >= 4, let pid = Int32(parts[parts.count - 3]) else { continue }
            if !Sys.processExists(pid) { found.append(path) }
        }
        return found
    }
}

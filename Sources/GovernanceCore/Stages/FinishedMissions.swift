import Foundation

/// The terminal statuses the watchdog has counted (`long-task-watchdog/finished-missions.tsv`):
/// a line `mission<TAB>status` for each, so a mission is counted once per terminal status it
/// reached (`rgov_missions_finished_total`), however many runs see it so.
///
/// Written through the run's transaction, only when it changes: a mission newly seen in a
/// terminal status is added, and a mission no longer listed (pruned) is forgotten, so the file
/// holds at most one line per terminal status of each mission in `missions/`. Missing or torn,
/// every terminal mission still listed is counted again.
struct FinishedMissions {
    static let header = "rgov.finished-missions/v1"

    /// The `mission<TAB>status` pairs counted.
    let counted: Set<String>

    init(_ path: String) {
        let data = (try? Sys.readFile(path, limit: 256 << 20)) ?? Data()
        let lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
        guard lines.count >= 2, String(decoding: lines[0], as: UTF8.self) == Self.header, data.last == 0x0a else {
            counted = []
            return
        }
        counted = Set(lines.dropFirst().filter { !$0.isEmpty }.map { String(decoding: $0, as: UTF8.self) })
    }

    static func line(_ s: ScanCache.Summary) -> String { s.missionID + "\t" + s.status }

    /// The terminal missions of `tally` not counted before.
    func newlyFinished(_ tally: WatchdogTally) -> [ScanCache.Summary] {
        var seen = counted
        return tally.terminal.filter { ScanCache.fits($0.missionID) && seen.insert(Self.line($0)).inserted }
    }

    /// The file after a run that counted every listed mission (`tally`) and found `newly`; nil
    /// when it is unchanged.
    func updated(_ tally: WatchdogTally, newly: [ScanCache.Summary]) -> Data? {
        let kept = counted.filter { tally.missionIDs.contains(String($0.prefix { $0 != "\t" })) }
        guard !newly.isEmpty || kept.count != counted.count else { return nil }
        let all = kept.union(newly.map(Self.line)).sorted()
        return Data((([Self.header] + all).joined(separator: "\n") + "\n").utf8)
    }
}

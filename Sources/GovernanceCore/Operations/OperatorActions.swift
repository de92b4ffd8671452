import Foundation

/// `rgov actions`: the operator actions recorded under `operator-actions/<day>/`, allowed and
/// refused, oldest first (Postfix's maillog, Alertmanager's silence log).
///
/// Read only: the records are `OperatorDesk`'s; a file that cannot be read is named, never skipped
/// in silence.
public struct OperatorActionLog {
    public struct Filter: Sendable {
        public var since: Date?
        public var by: String?
        public var mission: String?
        public var verb: String?

        public init(since: Date? = nil, by: String? = nil, mission: String? = nil, verb: String? = nil) {
            self.since = since
            self.by = by
            self.mission = mission
            self.verb = verb
        }

        func admits(_ action: OperatorAction) -> Bool {
            if let since, action.at < since { return false }
            if let by, action.by != by { return false }
            if let verb, action.action != verb { return false }
            if let mission, !(action.missions ?? []).contains(mission), action.target != mission { return false }
            return true
        }
    }

    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    /// The actions the filter admits, oldest first, and the files that could not be read.
    public func list(_ filter: Filter) throws -> (actions: [OperatorAction], unreadable: [String]) {
        var actions: [OperatorAction] = []
        var unreadable: [String] = []
        guard Sys.isDirectory(layout.operatorActions) else { return ([], []) }
        for path in try layout.datedFiles(in: layout.operatorActions) {
            guard let action = try? CanonicalJSON.decode(OperatorAction.self, from: try Sys.readFile(path)) else {
                unreadable.append(path)
                continue
            }
            if filter.admits(action) { actions.append(action) }
        }
        actions.sort { ($0.at, $0.action_id) < ($1.at, $1.action_id) }
        return (actions, unreadable)
    }

    /// The text listing: a header, then one row per action.
    public static func table(_ actions: [OperatorAction]) -> [String] {
        let header = ["TIME", "VERB", "TARGET", "BY", "OS USER", "ALLOWED", "RESULT"]
        let rows = actions.map { a in
            [
                Timestamp.format(a.at), f(a.action), f(a.target), f(a.by), f(a.os_user),
                a.allowed ? "allowed" : "REFUSED", f(a.result),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.indices.map { column in
                column == row.count - 1
                    ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    static func f(_ text: String) -> String { TerminalText.field(text) }
}

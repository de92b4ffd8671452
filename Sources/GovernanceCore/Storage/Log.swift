import Foundation

/// Logs go to standard error, one line per event, unbuffered (a line survives a crash under cron).
///
/// Two formats, chosen once per process (`RGOV_LOG_FORMAT` or `--log-format`): `text`, a line a
/// person reads, `<time> <run id> <who>: <message>`; and `json`, one object per line with `ts`,
/// `level`, `stage`, `run_id`, `parent_run_id`, `msg` and, where they apply, `mission_id`,
/// `notice_id`, `rule_id`, `event`, `duration_ms` and `exit_code`. The tick's run id is every
/// stage's parent, so one grep follows a tick through its stages and into their artifacts.
public enum Log {
    public enum Format: String, Sendable, CaseIterable { case text, json }

    /// Who is logging: set once at the start of each executable, read by every line.
    public struct Context: Sendable {
        public var stage: String
        public var runID: String
        public var parentRunID: String?
        public var format: Format
        /// The pinned clock's time (`--now`), or nil for the wall clock.
        public var pinnedNow: Date?
    }

    nonisolated(unsafe) private static var context = Context(
        stage: "rgov", runID: "", parentRunID: nil, format: .text, pinnedNow: nil)

    /// The environment variable through which a tick names itself to its stages.
    public static let parentRunVariable = "RGOV_PARENT_RUN_ID"

    /// Sets this process's context; `format` nil takes `RGOV_LOG_FORMAT` (default text).
    public static func configure(stage: String, runID: String, format: Format?, pinnedNow: Date?) {
        let chosen = format ?? Sys.environment("RGOV_LOG_FORMAT").flatMap(Format.init(rawValue:)) ?? .text
        context = Context(
            stage: stage, runID: runID, parentRunID: Sys.environment(parentRunVariable), format: chosen,
            pinnedNow: pinnedNow)
    }

    public static var runID: String { context.runID }
    public static var parentRunID: String? { context.parentRunID }

    /// A run id: `<prefix>-<time>-<pid>`.
    public static func newRunID(_ prefix: String, at: Date) -> String {
        prefix + "-" + Timestamp.compact(at) + "-" + String(Sys.processID())
    }

    public static func info(_ who: String, _ message: String, _ fields: [String: JSONValue] = [:]) {
        write("info", who, message, fields)
    }

    public static func error(_ who: String, _ message: String, _ fields: [String: JSONValue] = [:]) {
        write("error", who, message, fields)
    }

    static func write(_ level: String, _ who: String, _ message: String, _ fields: [String: JSONValue]) {
        let c = context
        let ts = Timestamp.format(c.pinnedNow ?? Date())
        switch c.format {
        case .json:
            var object: [String: JSONValue] = fields
            object["ts"] = .string(ts)
            object["level"] = .string(level)
            object["stage"] = .string(c.stage)
            object["run_id"] = .string(c.runID)
            if let parent = c.parentRunID { object["parent_run_id"] = .string(parent) }
            object["msg"] = .string(message)
            Sys.writeStandardError(CanonicalJSON.line(JSONValue.object(object)) + "\n")
        case .text:
            let prefix = c.runID.isEmpty ? "" : ts + " " + c.runID + " "
            let extra = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\(TerminalText.field(text($0.value)))" }
            Sys.writeStandardError(
                prefix + who + ": " + (level == "error" ? "error: " : "") + TerminalText.field(message, limit: 4000)
                    + extra.joined() + "\n")
        }
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() ? String(Int64(n)) : String(n)
        default: return CanonicalJSON.line(value)
        }
    }
}

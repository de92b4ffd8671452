import Foundation

/// The options and arguments of one command line, as its `CommandSpec` read them.
public struct Options: Sendable {
    public internal(set) var values: [String: String] = [:]
    /// Every value of an option given more than once, in order (`--evidence a --evidence b`).
    public internal(set) var repeated: [String: [String]] = [:]
    public internal(set) var flags: Set<String> = []
    public internal(set) var positionals: [String] = []

    public init() {}

    public func value(_ name: String) -> String? { values[name] }
    public func all(_ name: String) -> [String] { repeated[name] ?? [] }

    public mutating func setValue(_ name: String, _ value: String) {
        values[name] = value
        repeated[name] = [value]
    }

    /// A whole-number option, or a usage error naming it.
    public func integer(_ name: String) throws -> Int64? {
        guard let text = values[name] else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw UsageError("--\(name) needs a whole number, got \(Identifier.quoted(text))")
        }
        return value
    }
    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// `--log-format`, checked; nil leaves the choice to `RGOV_LOG_FORMAT`.
    public func logFormat() throws -> Log.Format? {
        guard let text = value("log-format") else { return nil }
        guard let format = Log.Format(rawValue: text) else {
            throw UsageError("--log-format \(Identifier.quoted(text)): use text or json")
        }
        return format
    }
    public var json: Bool { has("json") }

    /// The pinned clock from `--now`, or the system clock.
    public func clock() throws -> Clock {
        guard let text = value("now") else { return .system }
        guard let date = Timestamp.parse(text) else {
            throw UsageError(
                "--now \(Identifier.quoted(text)) is not an RFC 3339 time (e.g. 2026-11-20T12:00:00Z)")
        }
        return .pinned(date)
    }

    /// `--state`, else `RGOV_STATE_DIR`, else `./state`.
    public var stateDirectory: String { value("state") ?? Sys.environment("RGOV_STATE_DIR") ?? "./state" }

    /// `--profile`, else `RGOV_PROFILE`, else the profile activated in this state (`rgov activate`),
    /// else `minimal-solo-mode` (which sends nothing for real).
    public var profileName: String {
        value("profile") ?? Sys.environment("RGOV_PROFILE")
            ?? ProfileLifecycle.activeSnapshotPath(StateLayout(root: stateDirectory)) ?? "minimal-solo-mode"
    }
}

extension Deployment {
    /// The deployment the command line names (`--profile`, `--capabilities`, `--state`, `--now`).
    public static func load(_ options: Options) throws -> Deployment {
        WriteBatch.adopt(root: StateLayout(root: options.stateDirectory).root)
        return try load(
            Request(
                profile: options.profileName, capabilities: options.value("capabilities"),
                stateDirectory: options.stateDirectory, clock: try options.clock()))
    }
}

import Foundation

/// Parsed command-line options: `--name value`, `--name=value`, boolean flags and positionals.
///
/// Each command declares what it accepts; anything else is a usage error (exit 64) naming the
/// option, so a typo never silently changes what a run does.
public struct Options: Sendable {
    public private(set) var values: [String: String] = [:]
    /// Every value of an option given more than once, in order (`--evidence a --evidence b`).
    public private(set) var repeated: [String: [String]] = [:]
    public private(set) var flags: Set<String> = []
    public private(set) var positionals: [String] = []

    /// Options every rgov executable accepts (DESIGN §8).
    public static let sharedValued: Set<String> = ["state", "profile", "now", "capabilities"]
    public static let sharedFlags: Set<String> = ["json", "help", "version"]

    public init(_ arguments: [String], valued: Set<String> = [], flags allowedFlags: Set<String> = []) throws {
        let valuedNames = valued.union(Self.sharedValued)
        let flagNames = allowedFlags.union(Self.sharedFlags)
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if onlyPositionals || !argument.hasPrefix("--") || argument == "-" {
                if argument.hasPrefix("-") && argument != "-" && !onlyPositionals {
                    throw RgovError.usage("unknown option \(argument) (options are spelled --name)")
                }
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(argument.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if flagNames.contains(name) {
                guard inline == nil else { throw RgovError.usage("--\(name) takes no value") }
                flags.insert(name)
            } else if valuedNames.contains(name) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard i < arguments.count else { throw RgovError.usage("--\(name) needs a value") }
                    value = arguments[i]
                    i += 1
                }
                values[name] = value
                repeated[name, default: []].append(value)
            } else {
                let known = (valuedNames.union(flagNames)).sorted()
                let guess = ConfigMap.closest(to: name, in: known).map { "; did you mean --\($0)?" } ?? ""
                throw RgovError.usage("unknown option --\(name)\(guess)")
            }
        }
    }

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
            throw RgovError.usage("--\(name) needs a whole number, got \(Identifier.quoted(text))")
        }
        return value
    }
    public func has(_ flag: String) -> Bool { flags.contains(flag) }
    public var json: Bool { has("json") }

    /// The pinned clock from `--now`, or the system clock.
    public func clock() throws -> Clock {
        guard let text = value("now") else { return .system }
        guard let date = Timestamp.parse(text) else {
            throw RgovError.usage(
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

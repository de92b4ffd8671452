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
        try time("now") { UsageError($0 + " (e.g. 2026-11-20T12:00:00Z)") }.map(Clock.pinned) ?? .system
    }

    /// `--state`, else `RGOV_STATE_DIR`, else `./state`.
    public var stateDirectory: String { value("state") ?? Sys.environment("RGOV_STATE_DIR") ?? "./state" }

    /// The profile the caller named for this run: `--profile`, else `RGOV_PROFILE`.
    ///
    /// On a state with an active profile it must be that one (`Deployment.inForce`).
    public var namedProfile: Deployment.NamedProfile? {
        if let name = value("profile") { return .init(name, from: "--profile") }
        return Sys.environment("RGOV_PROFILE").map { .init($0, from: "RGOV_PROFILE") }
    }

    func request(profile: String) throws -> Deployment.Request {
        Deployment.Request(
            profile: profile, capabilities: value("capabilities"), stateDirectory: stateDirectory, clock: try clock())
    }
}

extension Deployment {
    /// The deployment in force on the state the command line names (`Deployment.inForce`).
    ///
    /// `run` names a command that writes in the state: it needs the state to exist, records the
    /// first activation of a state that has none, and acts as the state's owner. Without it, the
    /// command only reads.
    ///
    /// An operator verb (`adopting: false`) records no first activation: on a state with no
    /// active profile it judges by `minimal-solo-mode`, whatever `RGOV_PROFILE` says.
    public static func inForce(_ options: Options, run: String?, adopting: Bool = true) throws -> Deployment {
        let layout = StateLayout(root: options.stateDirectory)
        Transaction.adopt(root: layout.root)
        if run != nil { try StateAccess.requireExisting(layout) }
        let request = try options.request(profile: "minimal-solo-mode")
        let hasActive = ProfileLifecycle(layout: layout, clock: request.clock).active() != nil
        let deployment = try inForce(
            request, named: adopting || hasActive ? options.namedProfile : nil, adoptAs: adopting ? run : nil)
        if run != nil { try StateAccess.actAsOwner(layout) }
        return deployment
    }

    /// A profile that is not (yet) in force, checked against this runtime: `profile`, else the named one,
    /// else the state's active profile, else `minimal-solo-mode`.
    ///
    /// Writes nothing.
    public static func candidate(_ options: Options, profile: String? = nil) throws -> Deployment {
        let request = try options.request(profile: profile ?? options.namedProfile?.name ?? "minimal-solo-mode")
        if profile == nil, options.namedProfile == nil,
            let active = try ProfileLifecycle(layout: StateLayout(root: options.stateDirectory), clock: request.clock)
                .activeProfile()
        {
            return try make(active, request)
        }
        return try load(request)
    }
}

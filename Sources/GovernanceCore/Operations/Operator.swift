import Foundation

/// The person acting: the name they give (`--by`) and who the operating system says they are.
public struct OperatorIdentity: Sendable {
    public var by: String
    public var osUser: String
    public var osGroups: [String]

    public static func current(by: String?) throws -> OperatorIdentity {
        guard let by, !by.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw UsageError("--by NAME is required")
        }
        return OperatorIdentity(by: by, osUser: Sys.userName(), osGroups: Sys.groupNames())
    }
}

/// Operator verbs share this: the permission check and the audit record of every attempt.
public struct OperatorDesk: Sendable {
    public let deployment: Deployment
    public let identity: OperatorIdentity

    /// A desk that only reads (the approval backlog): nobody acts at it.
    static func reading(_ deployment: Deployment) -> OperatorDesk {
        OperatorDesk(deployment: deployment, identity: OperatorIdentity(by: "-", osUser: Sys.userName(), osGroups: []))
    }

    var layout: StateLayout { deployment.layout }
    var now: Date { deployment.clock.now() }

    /// Refuses (exit 77, with an audit record of the refusal) anyone the profile does not name.
    public func authorize(_ action: String, target: String, reason: String?) throws {
        let allowed = deployment.profile.operators
        if allowed.isEmpty { return }
        let user = identity.osUser
        func refuse(_ result: String, _ message: String) throws -> Never {
            try record(action, target: target, reason: reason, allowed: false, result: "refused: " + result)
            throw RgovError(.noPermission, "\(action) \(target): \(message); the refusal was recorded")
        }
        // With an allow-list, the name given is the real user's, unless the profile grants act_as.
        if identity.by != user && !deployment.profile.actAs.contains(user) {
            try refuse(
                "--by \(identity.by) is not the operating-system user \(user)",
                "--by \(identity.by) is not you (\(user)); give --by \(user), or an act_as grant in "
                    + "\(deployment.profileReference) (spec.audit.act_as)")
        }
        if admits(allowed) { return }
        try refuse(
            "\(user) is not an operator of this profile",
            "operating-system user \(user) (groups \(identity.osGroups.joined(separator: ", "))) is not among "
                + "the operators of \(deployment.profileReference) (\(allowed.joined(separator: ", ")))")
    }

    /// Whether the operating-system user, or one of its groups (`group:NAME`), is in `list`.
    private func admits(_ list: [String]) -> Bool {
        list.contains(identity.osUser)
            || list.contains { $0.hasPrefix("group:") && identity.osGroups.contains(String($0.dropFirst(6))) }
    }

    /// A desk for reading as the operating-system user (no `--by`: a reader gives no name).
    public static func reader(_ deployment: Deployment) -> OperatorDesk {
        let user = Sys.userName()
        return OperatorDesk(
            deployment: deployment, identity: OperatorIdentity(by: user, osUser: user, osGroups: Sys.groupNames()))
    }

    /// Refuses (exit 77, with an audit record of the refusal) anyone who may not read the state's
    /// evidence: the profile's readers and operators may, and anyone when it names neither.
    public func authorizeReading(_ verb: String, target: String) throws {
        let allowed = deployment.profile.readers + deployment.profile.operators
        guard !allowed.isEmpty, !admits(allowed) else { return }
        try record(verb, target: target, reason: nil, allowed: false, result: "refused: not a reader")
        throw RgovError(
            .noPermission,
            "\(verb) \(target): operating-system user \(identity.osUser) (groups "
                + "\(identity.osGroups.joined(separator: ", "))) may not read this state: neither a reader nor an "
                + "operator of \(deployment.profileReference) (spec.audit.readers, spec.audit.operators); the refusal "
                + "was recorded")
    }

    /// Appends the audit record of one verb, linked into the chain of each mission it acted on.
    @discardableResult
    public func record(
        _ action: String, target: String, reason: String?, allowed: Bool = true, result: String,
        missions: [String] = []
    ) throws -> OperatorAction {
        let day = Timestamp.day(now)
        let folder = layout.operatorActions(day: day)
        try Sys.makeDirectory(folder)
        var n = try layout.artifactNames(in: folder).count + 1
        let chain = MissionChain(layout: layout)
        let touched = Array(Set(missions)).sorted()
        while true {
            let id = "opa-" + Timestamp.compact(now) + "-" + String(format: "%04d", n)
            let entry = OperatorAction(
                action_id: id, action: action, target: target, by: identity.by, os_user: identity.osUser,
                os_groups: identity.osGroups, at: now, reason: reason, allowed: allowed, result: result,
                profile: deployment.profileReference, sudo_user: Sys.environment("SUDO_USER"),
                missions: touched.isEmpty ? nil : touched, profile_sha256: deployment.profile.sha256,
                environment: deployment.environment)
            let path = layout.operatorAction(id, day: day)
            let data = try CanonicalJSON.encodeFile(entry)
            if try DurableFile.create(data, at: path) {
                for mission in touched {
                    try chain.link(
                        .operator_action, id: id, sha256: SHA256.hex(of: [UInt8](data)), ref: path, mission: mission,
                        at: now)
                }
                return entry
            }
            n += 1
        }
    }
}

import Foundation

extension Verb {
    /// `rgov init`: the one way a state comes into being, with its owner and its profile in force.
    static let initialize = Verb(
        CommandSpec(
            "rgov init", summary: "create a state folder (0700), record its owner and put a profile in force",
            discussion: """
                Every other command refuses a state folder that does not exist (exit 66), so a mistyped --state creates
                nothing. The state's owner is the owner of its folder: rgov acts on the state only as that user (root
                switches to the owner; anyone else is refused with exit 77). As root, --owner USER makes the folder
                USER's (the service user of a cron job or systemd unit). A folder made by hand with no active profile
                is taken as it is; a state that already has one is refused (exit 65): use rgov activate.
                """,
            options: [
                OptionSpec(
                    "environment", value: "E",
                    "where the state runs: local, staging or production (production activates only evaluated profiles)",
                    default: "local"),
                OptionSpec("owner", value: "USER", "as root: the user who owns and runs the state", default: "you"),
                OptionSpec("by", value: "NAME", "who makes it", default: "your user name"),
                OptionSpec("reason", value: "TEXT", "why", default: "rgov init"),
            ],
            shared: [.state, .profile, .capabilities, .now, .json],
            exits: [
                (.dataError, "already a state with an active profile"), (.noInput, "no such owner"),
                (.noPermission, "--owner without root"), (.configuration, "the profile is refused"),
            ],
            example: "rgov init --state /var/lib/rgov/state --profile standard-team-mode --owner rgov")
    ) { options in
        let owner = try options.value("owner").map { name in
            guard let user = StateOwner.user(named: name) else {
                throw RgovError(.noInput, "--owner \(Identifier.quoted(name)): no such user")
            }
            return user
        }
        let environment = try options.value("environment").map { name in
            guard let environment = StateEnvironment(rawValue: name) else {
                throw RgovError(
                    .usage,
                    "--environment \(Identifier.quoted(name)): not one of "
                        + StateEnvironment.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return environment
        }
        let made = try StateInit.create(
            try Deployment.candidate(options), environment: environment ?? .local, owner: owner,
            by: options.value("by") ?? Sys.userName(),
            reason: options.value("reason") ?? "rgov init")
        options.emit(made, StateInit.describe(made) + "\nnext: rgov cron install --state \(made.state_dir)")
        return 0
    }
}

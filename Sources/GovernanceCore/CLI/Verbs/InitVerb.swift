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
                is taken as it is; a state that already has one is refused (exit 65): use rgov activate. A production
                state's first profile needs no evaluation only where it needs no staging evidence (autonomy at most
                assisted, writeback-approval on); otherwise --evaluation BUNDLE from a staging state, as rgov activate
                asks; every later activation there asks the promotion gate.
                """,
            options: [
                OptionSpec(
                    "environment", value: "E",
                    "where the state runs: local, staging or production (production activates only evaluated profiles)",
                    default: "local"),
                OptionSpec(
                    "evaluation", value: "BUNDLE",
                    "with --environment production: an audit bundle from a staging state holding a passing evaluation "
                        + "of the profile (needed where the profile admits autonomy above assisted or turns off "
                        + "writeback-approval)"),
                OptionSpec(
                    "allowed-signers", value: "FILE",
                    "with --evaluation: the bundle must be signed by a key in this ssh allowed-signers file"),
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
        let candidate = try Deployment.candidate(options)
        var evidence: PromotionEvidence? = nil
        if environment == .production {
            evidence = try PromotionGate(
                lifecycle: ProfileLifecycle(layout: candidate.layout, clock: candidate.clock),
                bundle: options.value("evaluation"), allowedSigners: options.value("allowed-signers")
            ).admitFirst(candidate)
        } else if options.value("evaluation") != nil {
            throw UsageError("rgov init: --evaluation is for --environment production")
        }
        let made = try StateInit.create(
            candidate, environment: environment ?? .local, owner: owner,
            by: options.value("by") ?? Sys.userName(), reason: options.value("reason") ?? "rgov init",
            evidence: evidence)
        options.emit(made, StateInit.describe(made) + "\nnext: rgov cron install --state \(made.state_dir)")
        return 0
    }
}

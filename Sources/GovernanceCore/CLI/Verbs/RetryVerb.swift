import Foundation

extension Verb {
    /// `rgov retry`: a deferred notice is due now (postqueue -f, postqueue -i ID).
    static let retry = Verb(
        CommandSpec(
            "rgov retry",
            summary:
                "make a notice waiting for its next attempt (or ALL of them) due now: the next bridge run sends it",
            discussion: """
                Only notices deferred after a retryable failure are changed: their state and attempt count stay, and
                the retry policy's attempt and lifetime limits still apply. A held notice stays held (rgov release it).
                Recorded as an operator action.
                """,
            arguments: [ArgumentSpec("ID|ALL", "a notice, or ALL for every one waiting for a retry")],
            options: holdOptions,
            shared: SharedOption.authority, exits: [(.noInput, "no such notice"), (.noPermission, "not an operator")],
            example: "rgov retry ALL --by alice --reason \"the channel is back\"")
    ) { options in try bulk(options, "retry", OperatorDesk.retry) }
}

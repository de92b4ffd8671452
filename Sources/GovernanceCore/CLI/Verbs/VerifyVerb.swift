import Foundation

extension Verb {
    /// `rgov verify`: on any machine, every hash, chain and transition of a bundle.
    static let verify = Verb(
        CommandSpec(
            "rgov verify",
            summary: "check an audit bundle on any machine: every hash, chain and transition, delivery truth",
            arguments: [ArgumentSpec("BUNDLE", "a bundle folder or its .tar")], shared: [.json],
            exits: [(.dataError, "the bundle does not hold (each failing artifact named)")],
            example: "rgov verify /tmp/audit/crm-overdue-02.tar")
    ) { options in
        RgovCommand.verdict(
            try AuditVerify.verify(options.argument), ok: "bundle verified: every hash, chain and transition holds",
            prefix: "FAIL", json: options.json)
    }
}

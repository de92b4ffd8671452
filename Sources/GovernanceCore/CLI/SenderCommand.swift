import Foundation

/// `rgov-sender`: reads spool handoffs (JSON lines) on stdin, prints one result line per item.
public enum SenderCommand {
    public static let spec = CommandSpec(
        "rgov-sender",
        summary: "send each spool handoff read from stdin (JSON lines) through one binding, one result line per item",
        discussion: """
            Prints one JSON result line per item (schema rgov.sender-result/v1), each as soon as it is sent. It never
            decides delivery state: the bridge reads its output and does. Modes: dry-run sends nothing (reason
            dry_run); shim appends the message to STATE/outbox/shim-outbox.jsonl and acks it with a synthetic message
            id (a local trial sender); webhook POSTs the message as JSON to RGOV_WEBHOOK_URL with an Idempotency-Key
            header (headers from RGOV_WEBHOOK_HEADERS, each request's timeout RGOV_WEBHOOK_TIMEOUT_MS, up to
            RGOV_WEBHOOK_CONCURRENCY requests at once, all set by the bridge); it follows no redirect (a 3xx is
            answered as such: 302, 303 and 307 retryable, any other blocked) and reads at most 64 KiB of a reply
            body, then closes the connection and keeps the status. Asked to stop (SIGTERM, SIGINT or
            SIGHUP, which the bridge forwards), the webhook mode begins no other request, answers at once each handoff
            it never posted with reason stopped_before_send (not sent, retryable), lets the requests under way
            finish, and exits 128 + the signal number.
            """,
        options: [
            OptionSpec("mode", value: "MODE", "dry-run, shim or webhook; required"),
            OptionSpec("version", "print the version and the commit it was built from"),
        ],
        shared: [.state],
        exits: [(.dataError, "unreadable input"), (.configuration, "mode not available")],
        example: "rgov-sender --mode dry-run --state state < handoffs.jsonl")

    /// Runs `rgov-sender`; `transport` carries the webhook mode's HTTP.
    public static func main(
        arguments: [String] = Array(CommandLine.arguments.dropFirst()), transport: any HTTPTransport
    ) -> Int32 {
        CommandRunner.run("rgov-sender") {
            let options = try spec.parse(arguments)
            if spec.answersHelpOrVersion(options) { return 0 }
            // A stop (the bridge forwards SIGTERM) lets the requests under way finish; see `Webhook.send`.
            Shutdown.install()
            try EnvironmentContract.enforce("rgov-sender")
            guard let modeText = options.value("mode") else { throw UsageError("--mode is required (see --help)") }
            guard let mode = SenderMode(rawValue: modeText) else {
                throw UsageError(
                    "unknown mode \(Identifier.quoted(modeText)) (modes: \(SenderMode.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            let layout = StateLayout(root: options.stateDirectory)
            // Its temporaries (the shim's) are registered, so a kill's leftovers are swept.
            Transaction.adopt(root: layout.root)
            let sender = Sender(mode: mode, layout: layout, transport: transport)
            try sender.send(try Sys.readStandardInput()) { result in
                Sys.writeStandardOutput(CanonicalJSON.line(result) + "\n")
                FaultInjection.point("sender.after_item")
            }
            return Shutdown.exitStatus ?? 0
        }
    }
}

import Foundation

/// `rgov-sender`: reads spool handoffs (JSON lines) on stdin, prints one result line per item.
public enum SenderCommand {
    public static let help = """
        usage: rgov-sender --mode MODE [--state DIR] < spool-handoffs.jsonl

        Sends each spool handoff read from stdin through one binding and prints one JSON result
        line per item (schema rgov.sender-result/v1). It never decides delivery state: the bridge
        reads its output and does.

        modes:
          dry-run   sends nothing; result reason dry_run
          shim      appends the message to STATE/outbox/shim-outbox.jsonl and acks it with a
                    synthetic message id (a local stand-in for a channel with ack receipts)
          webhook   POSTs the message as JSON to RGOV_WEBHOOK_URL with an Idempotency-Key header
                    (headers from RGOV_WEBHOOK_HEADERS, timeout RGOV_WEBHOOK_TIMEOUT_MS; the bridge
                    sets all three from the binding)

        exit: 0 results printed, 64 usage, 65 unreadable input, 78 mode not available.
        """

    public static func main(arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Int32 {
        do {
            let options = try Options(arguments, valued: ["mode"])
            if options.has("help") {
                Sys.writeStandardOutput(help + "\n")
                return 0
            }
            if options.has("version") {
                Sys.writeStandardOutput(PackageInfo.versionLine("rgov-sender") + "\n")
                return 0
            }
            try EnvironmentContract.enforce("rgov-sender")
            guard let modeText = options.value("mode") else { throw RgovError.usage("--mode is required (see --help)") }
            guard let mode = SenderMode(rawValue: modeText) else {
                throw RgovError.usage(
                    "unknown mode \(Identifier.quoted(modeText)) (modes: \(SenderMode.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            let sender = Sender(mode: mode, layout: StateLayout(root: options.stateDirectory))
            try sender.send(try Sys.readStandardInput()) { result in
                Sys.writeStandardOutput(CanonicalJSON.line(result) + "\n")
                FaultInjection.point("sender.after_item")
            }
            return 0
        } catch let error as RgovError {
            Log.error("rgov-sender", error.message)
            return error.exitCode.rawValue
        } catch let error as SystemCallError {
            Log.error("rgov-sender", error.description)
            return error.rgovError.exitCode.rawValue
        } catch {
            Log.error("rgov-sender", "\(error)")
            return ExitCode.failure.rawValue
        }
    }
}

import Foundation
import Testing

@testable import GovernanceCore

/// The real components: node_exporter's textfile collector reads STATE/metrics, a Prometheus on
/// loopback scrapes it with the shipped alert rules, and every dashboard panel and alert is
/// evaluated through Prometheus' HTTP API against a state with known content.
@Suite struct LivePrometheusTests {
    static func freePort() throws -> Int {
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])",
                ], deadline: 30))
        return try #require(Int(run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    static func start(_ executable: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// One instant query; the result vector (empty when the expression selects nothing).
    static func query(_ curl: String, port: Int, _ expr: String) throws -> [JSONValue] {
        let run = try ChildProcess.run(
            ChildSpec(
                executable: curl,
                arguments: ["-sG", "--data-urlencode", "query=" + expr, "http://127.0.0.1:\(port)/api/v1/query"],
                deadline: 30))
        let body = try CanonicalJSON.decode(JSONValue.self, from: Data(run.stdout))
        #expect(body["status"] == .string("success"), "\(expr): \(run.stdoutText)")
        return body["data"]?["result"]?.array ?? []
    }

    static func number(_ sample: JSONValue?) -> Double? {
        guard case .string(let text)? = sample?["value"]?.array.last else { return nil }
        return Double(text)
    }

    /// Polls (bounded) until `condition` holds: waiting on the effect, a scrape, not on a time.
    static func eventually(_ what: String, _ condition: () throws -> Bool) throws {
        for _ in 0..<600 {
            if try condition() { return }
            Sys.sleep(milliseconds: 100)
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test(
        .enabled(
            if: ObservabilityTests.tool("prometheus") != nil
                && ObservabilityTests.tool("prometheus-node-exporter") != nil
                && ObservabilityTests.tool("curl") != nil, "needs prometheus, prometheus-node-exporter and curl"))
    func prometheusScrapesTheMetricsAndEveryPanelAndAlertEvaluates() throws {
        let prometheus = try #require(ObservabilityTests.tool("prometheus"))
        let exporter = try #require(ObservabilityTests.tool("prometheus-node-exporter"))
        let curl = try #require(ObservabilityTests.tool("curl"))
        let h = try Harness()
        try h.importExamples()
        // A channel that is down: every attempt a temporary failure.
        let script = try h.script("down.sh", "cat > /dev/null; exit 75")
        let profile = try SenderTests.profile(
            h, "down", sender: "      mode: command\n      binding:\n        command: [\(script)]\n")
        #expect(try h.run("rgov", ["tick", "--profile", profile]).status == 0)

        let (exporterPort, prometheusPort) = (try Self.freePort(), try Self.freePort())
        // The shipped rules, without their `for:` delays, so a firing alert shows within the test.
        let rules = String(
            decoding: try Sys.readFile(Harness.repoRoot + "/deploy/prometheus/rgov-alerts.yml"), as: UTF8.self)
        try DurableFile.write(
            Data(rules.split(separator: "\n").filter { !$0.contains(" for: ") }.joined(separator: "\n").utf8),
            to: h.dir + "/rules.yml")
        let config = """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: [\(h.dir)/rules.yml]
            scrape_configs:
              - job_name: rgov
                static_configs: [{targets: ["127.0.0.1:\(exporterPort)"]}]
            """
        try DurableFile.write(Data(config.utf8), to: h.dir + "/prometheus.yml")
        let nodeExporter = try Self.start(
            exporter,
            [
                "--web.listen-address=127.0.0.1:\(exporterPort)", "--collector.disable-defaults",
                "--collector.textfile", "--collector.textfile.directory=\(h.layout.metrics)",
            ], log: h.dir + "/exporter.log")
        let server = try Self.start(
            prometheus,
            [
                "--config.file=\(h.dir)/prometheus.yml", "--storage.tsdb.path=\(h.dir)/tsdb",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ], log: h.dir + "/prometheus.log")
        defer {
            for process in [server, nodeExporter] where process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
        }
        try Self.eventually("a scrape of rgov_notices") {
            !((try? Self.query(curl, port: prometheusPort, "rgov_notices")) ?? []).isEmpty
        }
        // Retries 90 minutes later fail again: the counters grow between two scrapes.
        #expect(
            try h.run("rgov", ["tick", "--profile", profile, "--now", "2026-11-20T13:30:00Z"]).status == 0)
        let attempts = try h.receipts().count
        try Self.eventually("the second tick's attempts") {
            let total = try Self.query(curl, port: prometheusPort, "sum(rgov_send_attempts_total)")
            return Self.number(total.first) == Double(attempts)
        }

        // Every dashboard panel's expression evaluates.
        for name in try Sys.listDirectory(Harness.repoRoot + "/deploy/grafana").sorted() {
            let board = try CanonicalJSON.decode(
                JSONValue.self, from: try Sys.readFile(Harness.repoRoot + "/deploy/grafana/" + name))
            for panel in board["panels"]?.array ?? [] {
                for target in panel["targets"]?.array ?? [] {
                    guard case .string(let expr)? = target["expr"] else { continue }
                    _ = try Self.query(curl, port: prometheusPort, expr)
                }
            }
        }
        // The values the state implies.
        #expect(Self.number(try Self.query(curl, port: prometheusPort, "sum(rgov_missions)").first) == 8)
        #expect(Self.number(try Self.query(curl, port: prometheusPort, "rgov_approval_backlog").first) == 1)
        let ratio = try Self.query(
            curl, port: prometheusPort,
            "sum(rate(rgov_send_attempts_total{outcome=~\"temporary_failure|sender_failed|permanent_failure|sender_unavailable|partial_send\"}[30m])) / sum(rate(rgov_send_attempts_total[30m]))"
        )
        #expect(Self.number(ratio.first) == 1, "every attempt failed")
        let pending = try h.notices().filter { $0.state == .pending_external_send }.count
        let queried = try Self.query(curl, port: prometheusPort, "sum(rgov_notices{state=\"pending_external_send\"})")
        #expect(Self.number(queried.first) == Double(pending))
        // Each alert's expression, as this state implies it: the channel is down, the pinned clock
        // makes the watchdog and the feed look days old to a real-time Prometheus; the rest is quiet.
        let expected: [String: Bool] = [
            "RgovSenderFailing": true, "RgovWatchdogNotRunning": true, "RgovMissionFeedStale": true,
            "RgovOutcomeUnknown": false, "RgovQuarantineGrowing": false, "RgovApprovalBacklog": false,
            "RgovNoticeUndelivered": true, "RgovPolicyBlockSpike": false, "RgovProfileRolledBack": false,
        ]
        // The rules file read by an independent YAML reader (PyYAML), as Prometheus reads it.
        let dump = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    "import json,sys,yaml\nd=yaml.safe_load(open(sys.argv[1]))\n"
                        + "print(json.dumps({r['alert']: r['expr'] for g in d['groups'] for r in g['rules']}))",
                    Harness.repoRoot + "/deploy/prometheus/rgov-alerts.yml",
                ], deadline: 60))
        var expressions: [String: String] = [:]
        if case .object(let o) = try CanonicalJSON.decode(JSONValue.self, from: Data(dump.stdout)) {
            for (k, v) in o { if case .string(let e) = v { expressions[k] = e } }
        }
        #expect(Set(expressions.keys) == Set(expected.keys))
        for (alert, firing) in expected {
            let result = try Self.query(curl, port: prometheusPort, expressions[alert] ?? "")
            #expect(result.isEmpty != firing, "\(alert) should \(firing ? "" : "not ")hold: \(result)")
        }
        try Self.eventually("RgovSenderFailing firing") {
            let run = try ChildProcess.run(
                ChildSpec(
                    executable: curl, arguments: ["-s", "http://127.0.0.1:\(prometheusPort)/api/v1/alerts"],
                    deadline: 30))
            let alerts =
                try CanonicalJSON.decode(JSONValue.self, from: Data(run.stdout))["data"]?["alerts"]?.array ?? []
            return alerts.contains {
                $0["labels"]?["alertname"] == .string("RgovSenderFailing") && $0["state"] == .string("firing")
            }
        }
    }
}

import Foundation

/// `rgov cron install|remove`: one marked block per state folder in a crontab,
/// `# BEGIN rgov STATE` … `# END rgov STATE`, holding one job line that works under cron's empty
/// environment (absolute paths, every variable it needs on the line itself).
///
/// Everything outside the block is kept byte for byte; installing again replaces the block.
public struct CronSchedule: Sendable, Equatable {
    /// Absolute path of the state folder.
    public var state: String
    /// The job's `PATH`: what the sender binding's program needs, then the usual system folders
    /// (cron's own is `/usr/bin:/bin`).
    public var path: String
    public var everyMinutes: Int
    /// Absolute path of the log the tick appends to.
    public var log: String
    /// Absolute path of the `rgov` executable.
    public var rgov: String
    /// `RGOV_HOME`, carried onto the line when set at install time.
    public var home: String?

    public init(state: String, path: String, everyMinutes: Int, log: String, rgov: String, home: String?) throws {
        for (name, value) in [("--state", state), ("--log", log), ("rgov", rgov)]
            + (home.map { [("RGOV_HOME", $0)] } ?? [])
        {
            guard value.hasPrefix("/") else { throw UsageError("\(name) \(value) must be an absolute path") }
        }
        for (name, value) in [("--state", state), ("PATH", path), ("--log", log), ("rgov", rgov)] {
            guard !value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) else {
                throw UsageError("\(name) must be one line")
            }
        }
        guard (1...59).contains(everyMinutes) || (everyMinutes % 60 == 0 && (60...1440).contains(everyMinutes)) else {
            throw UsageError("--every \(everyMinutes): give 1 to 59 minutes, or whole hours (60, 120, ... 1440)")
        }
        self.state = state
        self.path = path
        self.everyMinutes = everyMinutes
        self.log = log
        self.rgov = rgov
        self.home = home
    }

    public static func beginMarker(_ state: String) -> String { "# BEGIN rgov " + state }
    public static func endMarker(_ state: String) -> String { "# END rgov " + state }

    /// The five time fields: every N minutes, or every N hours on the hour.
    public var timeFields: String {
        switch everyMinutes {
        case 1: return "* * * * *"
        case 1...59: return "*/\(everyMinutes) * * * *"
        case 1440: return "0 0 * * *"
        default: return "0 */\(everyMinutes / 60) * * *"
        }
    }

    /// The job's command, as cron's `/bin/sh` reads it: every value single-quoted, `%` escaped (cron turns
    /// a bare `%` into a newline).
    ///
    /// It names no profile: the tick runs the state's active profile, so an activation or a rollback takes
    /// effect at the next run.
    public var command: String {
        // Files the tick's shell creates (the log) are private, like everything else rgov writes.
        var words: [String] = ["umask", "077;"]
        if let home { words.append("RGOV_HOME=" + Self.quote(home)) }
        words += ["PATH=" + Self.quote(path), Self.quote(rgov), "tick", "--state", Self.quote(state)]
        return (words + [">>", Self.quote(log), "2>&1"]).joined(separator: " ")
    }

    public var block: String {
        [
            Self.beginMarker(state),
            "# written by rgov cron install; rgov cron remove --state \(state) takes it out",
            timeFields + " " + command,
            Self.endMarker(state),
        ].joined(separator: "\n") + "\n"
    }

    /// Shell single quotes, with `'` as `'\''`; then cron's `%` escape.
    static func quote(_ value: String) -> String {
        let safe = value.allSatisfy { $0.isLetter || $0.isNumber || "/._-@+=:,".contains($0) } && !value.isEmpty
        let shell = safe ? value : "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
        return shell.replacingOccurrences(of: "%", with: "\\%")
    }

    /// The folders a job needs on its `PATH` to find `program` (the sender's, when it is not an
    /// absolute path), looked up on `searchPath` at install time, then the usual system folders.
    public static func jobPath(program: String?, searchPath: String) -> String {
        var folders: [String] = []
        if let program, !program.hasPrefix("/"),
            let found = try? ChildProcess.resolve(program, environment: ["PATH": searchPath])
        {
            folders.append((found as NSString).deletingLastPathComponent)
        }
        for folder in ["/usr/local/bin", "/usr/bin", "/bin"] where !folders.contains(folder) { folders.append(folder) }
        return folders.joined(separator: ":")
    }

    /// What a job line says about how it runs: the profile it pins (an older rgov's line), its
    /// `PATH` (cron's `/usr/bin:/bin` when it sets none) and how often it runs, in minutes.
    public struct Job: Sendable, Equatable {
        public var pinnedProfile: String?
        public var path: String
        public var everyMinutes: Int?
    }

    public static func parse(jobLine line: String) -> Job {
        let words = line.split(separator: " ").map(String.init)
        func unquoted(_ word: String) -> String {
            var w = word.replacingOccurrences(of: "\\%", with: "%")
            if w.hasPrefix("'") && w.hasSuffix("'") && w.count >= 2 { w = String(w.dropFirst().dropLast()) }
            return w.replacingOccurrences(of: "'\\''", with: "'")
        }
        let pinned = words.firstIndex(of: "--profile").flatMap { $0 + 1 < words.count ? unquoted(words[$0 + 1]) : nil }
        let path = words.first { $0.hasPrefix("PATH=") }.map { unquoted(String($0.dropFirst(5))) } ?? "/usr/bin:/bin"
        var every: Int? = nil
        if words.count >= 5 {
            let (minute, hour) = (words[0], words[1])
            if minute == "*" && hour == "*" {
                every = 1
            } else if minute.hasPrefix("*/"), hour == "*" {
                every = Int(minute.dropFirst(2))
            } else if hour.hasPrefix("*/") {
                every = Int(hour.dropFirst(2)).map { $0 * 60 }
            } else if hour == "0" && minute == "0" {
                every = 1440
            }
        }
        return Job(pinnedProfile: pinned, path: path, everyMinutes: every)
    }

    /// `crontab` text with this block in place of any block for the same state (appended when new).
    public func installing(into crontab: String) -> String {
        var lines = crontab.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let begin = lines.firstIndex(of: Self.beginMarker(state)),
            let end = lines[begin...].firstIndex(of: Self.endMarker(state))
        {
            lines.replaceSubrange(begin...end, with: block.split(separator: "\n").map(String.init))
            return lines.joined(separator: "\n")
        }
        let base = crontab.isEmpty || crontab.hasSuffix("\n") ? crontab : crontab + "\n"
        return base + block
    }

    /// `crontab` without the block for `state`; whether there was one.
    public static func removing(state: String, from crontab: String) -> (String, Bool) {
        let lines = crontab.split(separator: "\n", omittingEmptySubsequences: false)
        guard let begin = lines.firstIndex(where: { $0 == beginMarker(state) }),
            let end = lines[begin...].firstIndex(where: { $0 == endMarker(state) })
        else { return (crontab, false) }
        let kept = Array(lines[..<begin]) + Array(lines[(end + 1)...])
        return (kept.joined(separator: "\n"), true)
    }

    /// The job line of the block for `state`, if the crontab has one.
    public static func jobLine(state: String, in crontab: String) -> String? {
        let lines = crontab.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let begin = lines.firstIndex(of: beginMarker(state)),
            let end = lines[begin...].firstIndex(of: endMarker(state))
        else { return nil }
        return lines[begin..<end].first { !$0.hasPrefix("#") && !$0.isEmpty }
    }
}

/// The crontab a schedule goes into: the invoking user's (through `crontab -l` and `crontab -`,
/// run with a deadline and never through a shell), or a file (tests, `/etc/cron.d` style setups).
public struct CronTable: Sendable {
    public let file: String?

    public init(file: String?) { self.file = file }

    public var description: String { file ?? "the crontab of \(StateOwner.effectiveUserName)" }

    /// The current text; empty when the user has no crontab yet.
    public func read() throws -> String {
        if let file {
            guard Sys.exists(file) else { return "" }
            return String(decoding: try Sys.readFile(file, limit: 1 << 20), as: UTF8.self)
        }
        let result = try ChildProcess.run(
            ChildSpec(executable: try Self.crontabProgram(), arguments: ["-l"], deadline: 10))
        if result.status == 0 { return result.stdoutText }
        if result.stderrText.contains("no crontab") { return "" }
        throw RgovError.io("crontab -l exited \(result.status): \(result.stderrText)")
    }

    public func write(_ text: String) throws {
        if let file {
            try DurableFile.write(Data(text.utf8), to: file)
            return
        }
        let result = try ChildProcess.run(
            ChildSpec(
                executable: try Self.crontabProgram(), arguments: ["-"], standardInput: Array(text.utf8),
                deadline: 10))
        guard result.status == 0 else { throw RgovError.io("crontab - exited \(result.status): \(result.stderrText)") }
    }

    static func crontabProgram() throws -> String {
        do {
            return try ChildProcess.resolve(
                "crontab", environment: ["PATH": Sys.environment("PATH") ?? "/usr/bin:/bin"])
        } catch {
            throw ConfigurationError(
                "crontab is not installed (apt-get install cron), or use --crontab-file FILE, or the systemd timer "
                    + "(deploy/systemd/)")
        }
    }
}

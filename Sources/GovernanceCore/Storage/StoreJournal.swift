import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Test mode: with `RGOV_STORE_JOURNAL=FILE`, every file-system operation `Sys` performs that
/// changes files or makes them durable is appended to FILE, one JSON line each, after it
/// succeeded.
///
/// `scripts/crash-states` rebuilds from the journal every state a power cut could leave. Lines:
/// `prior` (a path's content before the run first touched it: `kind` file, dir or missing, and
/// `data` in base64), `create` (an `O_CREAT` open that made the file; `trunc` when it emptied
/// one), `write` (`offset`, `data`), `truncate` (`size`), `fsync` (a file or a folder), `syncfs`,
/// `rename` and `link` (`from`, `path`), `unlink`, `mkdir`, `rmdir`, and `root` (the state folder
/// the process adopted). Every line carries the process id; paths are absolute. Appends are one
/// `write(2)` each on an `O_APPEND` descriptor, so the processes of one tick share the file.
enum StoreJournal {
    private static let path: String? = {
        guard let value = Sys.environment("RGOV_STORE_JOURNAL"), !value.isEmpty else { return nil }
        return value
    }()

    static var isOn: Bool { path != nil }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var fd: Int32 = -1
    nonisolated(unsafe) private static var touched: Set<String> = []
    /// Records what `paths` held before this run first changed them (once per path and process;
    /// the script keeps the first record of a path in the whole journal).
    static func before(_ paths: String...) {
        guard isOn else { return }
        for raw in paths {
            let path = Sys.absolute(raw)
            let first = lock.withLock { touched.insert(path).inserted }
            guard first else { continue }
            var fields: [String: Any] = ["op": "prior", "path": path]
            switch Sys.kind(raw) {
            case .regular:
                fields["kind"] = "file"
                fields["data"] = ((try? Sys.readFile(raw, limit: 64 << 20)) ?? Data()).base64EncodedString()
            case .directory: fields["kind"] = "dir"
            default: fields["kind"] = "missing"
            }
            append(fields)
        }
    }

    /// Appends one operation (`path` and `from` made absolute).
    static func record(_ op: String, _ path: String, _ extra: [String: Any] = [:]) {
        guard isOn else { return }
        var fields = extra
        fields["op"] = op
        fields["path"] = Sys.absolute(path)
        if let from = extra["from"] as? String { fields["from"] = Sys.absolute(from) }
        append(fields)
    }

    /// `write` of `bytes` that ended at the descriptor's offset now.
    static func recordWrite(_ fd: Int32, _ path: String, _ bytes: UnsafeRawBufferPointer) {
        guard isOn, fd > 2, !path.hasPrefix("<") else { return }
        let end = lseek(fd, 0, SEEK_CUR)
        guard end >= 0 else { return }
        record("write", path, ["offset": Int(end) - bytes.count, "data": Data(bytes).base64EncodedString()])
    }

    private static func append(_ fields: [String: Any]) {
        guard let path else { return }
        var fields = fields
        fields["pid"] = Int(getpid())
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
        line.append(UInt8(ascii: "\n"))
        lock.withLock {
            if fd < 0 { fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
            guard fd >= 0 else { return }
            _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }
}

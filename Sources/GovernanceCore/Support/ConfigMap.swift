/// Strict reading of a YAML mapping: every key must be one the schema knows, and each error names
/// the file, the line, the path of the key, and the closest valid key for a misspelling.
struct ConfigMap {
    let file: String
    let path: String
    let line: Int
    private let entries: [YAMLEntry]

    init(_ node: YAMLNode, file: String, path: String, allowed: [String]?) throws {
        guard case .mapping(let entries, let line) = node else {
            throw YAMLError(file: file, line: node.line, message: "\(path) must be a mapping")
        }
        self.file = file
        self.path = path
        self.line = line
        self.entries = entries
        for entry in entries where allowed.map({ !$0.contains(entry.key) }) ?? false {
            let allowed = allowed ?? []
            var message = "unknown key \"\(entry.key)\" in \(path)"
            if let guess = ConfigMap.closest(to: entry.key, in: allowed) { message += "; did you mean \"\(guess)\"?" }
            message += " (valid: \(allowed.joined(separator: ", ")))"
            throw YAMLError(file: file, line: entry.line, message: message)
        }
    }

    /// The `apiVersion` of every document rgov reads (profiles, policy packs).
    public static let apiVersion = "reporting-governance/v1alpha1"

    /// The top of a versioned document: checks `apiVersion` and `kind`, allows `body` beside `metadata`.
    static func document(_ text: String, file: String, kind: String, body: String) throws -> ConfigMap {
        let root = try ConfigMap(
            try YAMLReader.parse(text, file: file), file: file, path: "",
            allowed: ["apiVersion", "kind", "metadata", body])
        guard try root.requiredString("apiVersion") == Self.apiVersion else {
            throw root.error("apiVersion", "must be \(Self.apiVersion)")
        }
        guard try root.requiredString("kind") == kind else { throw root.error("kind", "must be \(kind)") }
        return root
    }

    /// The raw entries, for mappings whose keys are data (rule ids) rather than schema.
    var rawEntries: [YAMLEntry] { entries }

    func node(_ key: String) -> YAMLNode? { entries.first { $0.key == key }?.value }

    func child(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func lineOf(_ key: String) -> Int { entries.first { $0.key == key }?.line ?? line }

    func error(_ key: String, _ message: String) -> YAMLError {
        YAMLError(file: file, line: lineOf(key), message: "\(child(key)): \(message)")
    }

    func map(_ key: String, allowed: [String]?) throws -> ConfigMap? {
        guard let node = node(key) else { return nil }
        if case .scalar(let s) = node, !s.quoted, s.text.isEmpty {
            return try ConfigMap(.mapping([], line: s.line), file: file, path: child(key), allowed: allowed)
        }
        return try ConfigMap(node, file: file, path: child(key), allowed: allowed)
    }

    func requiredMap(_ key: String, allowed: [String]?) throws -> ConfigMap {
        guard let map = try map(key, allowed: allowed) else {
            throw YAMLError(file: file, line: line, message: "missing \(child(key))")
        }
        return map
    }

    func requiredString(_ key: String) throws -> String {
        guard let text = try string(key) else {
            throw YAMLError(file: file, line: line, message: "missing \(child(key))")
        }
        return text
    }

    func string(_ key: String) throws -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let s) = node, case .string(let text) = s.resolved else {
            throw error(key, "must be a string")
        }
        return text
    }

    /// A string that must be there, naming one of `T`'s cases.
    func requiredCase<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: try requiredString(key)) else {
            throw error(key, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let s) = node, case .bool(let value) = s.resolved else {
            throw error(key, "must be true or false")
        }
        return value
    }

    func integer(_ key: String, range: ClosedRange<Int64>) throws -> Int64? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let s) = node, !s.quoted, let value = YAMLScalar.integer(s.text) else {
            throw error(key, "must be a whole number")
        }
        guard range.contains(value) else {
            throw error(key, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func strings(_ key: String) throws -> [String]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let items, _) = node else { throw error(key, "must be a list") }
        return try items.map { item in
            guard case .scalar(let s) = item, case .string(let text) = s.resolved else {
                throw YAMLError(file: file, line: item.line, message: "\(child(key)): items must be strings")
            }
            return text
        }
    }

    /// The valid key within edit distance 2 (or a third of the word) of `word`, if one is that close.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let lower = word.lowercased()
        if lower.count >= 3, let prefixed = candidates.first(where: { $0.lowercased().hasPrefix(lower) }) {
            return prefixed
        }
        let scored = candidates.map { ($0, distance(lower, $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, word.count / 3) else { return nil }
        return best
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

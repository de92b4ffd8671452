import Foundation

/// A value a rule is tuned with.
public enum ParameterValue: Sendable, Equatable, Codable {
    case integer(Int64)
    case choice(String)
    case flag(Bool)
    case list([String])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .integer(let v): try c.encode(v)
        case .choice(let v): try c.encode(v)
        case .flag(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) {
            self = .flag(v)
        } else if let v = try? c.decode(Int64.self) {
            self = .integer(v)
        } else if let v = try? c.decode(String.self) {
            self = .choice(v)
        } else {
            self = .list(try c.decode([String].self))
        }
    }

    var text: String {
        switch self {
        case .integer(let v): return String(v)
        case .choice(let v): return v
        case .flag(let v): return String(v)
        case .list(let v): return "[" + v.joined(separator: ", ") + "]"
        }
    }
}

/// A parameter a pack declares: its default and how far a profile may move it.
///
/// A profile may always move a parameter in its stricter direction; toward the lax side it may
/// go only as far as the pack's tunable bound. Lists are fixed by the pack.
public struct ParameterSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `stricterIsLower`: for timeouts and grace periods a smaller value is stricter.
        case integer(min: Int64, max: Int64, stricterIsLower: Bool)
        /// `choices` ordered strictest first; `laxest` is the laxest a profile may choose.
        case choice(choices: [String], laxest: String)
        /// `true` is stricter; `laxestAllowed` false means a profile may turn it off.
        case flag(mayDisable: Bool)
        case list
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: ParameterValue

    /// The allowed range, as an operator reads it in an error message.
    public var rangeDescription: String {
        switch kind {
        case .integer(let min, let max, let lower):
            return "\(min)...\(max) (\(lower ? "lower" : "higher") is stricter and always allowed)"
        case .choice(let choices, let laxest):
            let allowed = choices.prefix(through: choices.firstIndex(of: laxest) ?? 0)
            return "one of " + allowed.joined(separator: ", ")
        case .flag(let mayDisable): return mayDisable ? "true or false" : "true only"
        case .list: return "not tunable by a profile"
        }
    }

    /// Checks a profile's value; returns nil when allowed, else why not.
    public func refusal(of value: ParameterValue) -> String? {
        switch (kind, value) {
        case (.integer(let min, let max, let lower), .integer(let v)):
            if v < 0 { return "must not be negative" }
            if lower ? v <= max : v >= min { return nil }
            return "relaxes beyond the tunable range \(min)...\(max)"
        case (.choice(let choices, let laxest), .choice(let v)):
            guard let index = choices.firstIndex(of: v) else {
                return "must be one of \(choices.joined(separator: ", "))"
            }
            return index <= (choices.firstIndex(of: laxest) ?? choices.count)
                ? nil : "relaxes beyond the tunable range (laxest allowed: \(laxest))"
        case (.flag(let mayDisable), .flag(let v)):
            return v || mayDisable ? nil : "may not be turned off"
        case (.list, _):
            return "is fixed by the pack"
        default:
            return "has the wrong type"
        }
    }
}

/// One rule as a pack declares it: id, base severity, decision outcome and parameters.
public struct RuleDefinition: Sendable, Equatable {
    public var id: String
    public var description: String
    public var severity: Severity
    public var outcome: DecisionRecord.Outcome
    public var parameters: [ParameterSpec]
}

/// A policy pack (`policy-packs/<id>.yaml`): named rules and their parameters.
public struct PolicyPack: Sendable, Equatable {
    public var id: String
    public var version: String
    public var description: String
    public var rules: [RuleDefinition]
    public var source: String
    public var sha256: String

    public var reference: String { id + "@" + version }

    public static func parse(_ text: String, file: String) throws -> PolicyPack {
        let root = try ConfigMap.document(text, file: file, kind: "PolicyPack", body: "rules")
        let metadata = try root.requiredMap("metadata", allowed: ["id", "version", "description"])
        let id = try metadata.requiredString("id")
        guard case .sequence(let items, _)? = root.node("rules"), !items.isEmpty else {
            throw root.error("rules", "must be a non-empty list")
        }
        let rules = try items.enumerated().map { index, item in
            let rule = try ConfigMap(
                item, file: file, path: "rules[\(index)]",
                allowed: ["id", "description", "severity", "outcome", "parameters"])
            let ruleID = try rule.requiredString("id")
            guard ruleID.hasPrefix(id + "/") else { throw rule.error("id", "must start with the pack id \"\(id)/\"") }
            let severity = try rule.requiredCase("severity", Severity.self)
            let outcome = try rule.requiredCase("outcome", DecisionRecord.Outcome.self)
            var parameters: [ParameterSpec] = []
            if let node = rule.node("parameters") {
                guard case .sequence(let specs, _) = node else { throw rule.error("parameters", "must be a list") }
                for (n, spec) in specs.enumerated() {
                    parameters.append(try parseParameter(spec, file: file, path: rule.child("parameters") + "[\(n)]"))
                }
            }
            return RuleDefinition(
                id: ruleID, description: try rule.string("description") ?? "", severity: severity, outcome: outcome,
                parameters: parameters)
        }
        return PolicyPack(
            id: id, version: try metadata.requiredString("version"),
            description: try metadata.string("description") ?? "", rules: rules, source: file,
            sha256: SHA256.hex(of: text))
    }

    private static func parseParameter(_ node: YAMLNode, file: String, path: String) throws -> ParameterSpec {
        let map = try ConfigMap(
            node, file: file, path: path,
            allowed: ["name", "type", "default", "min", "max", "stricter", "choices", "laxest", "may_disable"])
        let name = try map.requiredString("name")
        switch try map.requiredString("type") {
        case "integer":
            guard let value = try map.integer("default", range: 0...Int64.max),
                let min = try map.integer("min", range: 0...Int64.max),
                let max = try map.integer("max", range: 0...Int64.max),
                min <= value, value <= max
            else {
                throw map.error("default", "integer parameters need default, min and max with min <= default <= max")
            }
            let stricter = try map.string("stricter") ?? "lower"
            guard stricter == "lower" || stricter == "higher" else {
                throw map.error("stricter", "must be lower or higher")
            }
            return ParameterSpec(
                name: name, kind: .integer(min: min, max: max, stricterIsLower: stricter == "lower"),
                defaultValue: .integer(value))
        case "choice":
            let choices = try map.strings("choices") ?? []
            guard let value = try map.string("default"), let laxest = try map.string("laxest"), choices.contains(value),
                let laxIndex = choices.firstIndex(of: laxest), let valueIndex = choices.firstIndex(of: value),
                valueIndex <= laxIndex
            else {
                throw map.error(
                    "choices", "choice parameters need choices (strictest first), a default and a laxest among them")
            }
            return ParameterSpec(
                name: name, kind: .choice(choices: choices, laxest: laxest), defaultValue: .choice(value))
        case "flag":
            guard let value = try map.bool("default") else {
                throw map.error("default", "flag parameters need true or false")
            }
            return ParameterSpec(
                name: name, kind: .flag(mayDisable: try map.bool("may_disable") ?? false), defaultValue: .flag(value))
        case "list":
            guard let values = try map.strings("default") else {
                throw map.error("default", "list parameters need a list")
            }
            return ParameterSpec(name: name, kind: .list, defaultValue: .list(values))
        case let other:
            throw map.error("type", "unknown parameter type \"\(other)\" (integer, choice, flag, list)")
        }
    }
}

/// The resolved parameters of one rule: pack defaults, then the profile's overrides.
public struct RuleParameters: Sendable, Equatable {
    public var ruleID: String
    public var severity: Severity
    public var outcome: DecisionRecord.Outcome
    public var values: [String: ParameterValue]
    /// Where each value came from: `pack` or `profile`.
    public var origins: [String: String]

    public func integer(_ name: String) -> Int64 {
        if case .integer(let v)? = values[name] { return v }
        preconditionFailure("\(ruleID): integer parameter \(name) was not resolved")
    }

    public func choice(_ name: String) -> String {
        if case .choice(let v)? = values[name] { return v }
        preconditionFailure("\(ruleID): choice parameter \(name) was not resolved")
    }

    public func flag(_ name: String) -> Bool {
        if case .flag(let v)? = values[name] { return v }
        preconditionFailure("\(ruleID): flag parameter \(name) was not resolved")
    }

    public func list(_ name: String) -> [String] {
        if case .list(let v)? = values[name] { return v }
        preconditionFailure("\(ruleID): list parameter \(name) was not resolved")
    }
}

import Foundation

/// `rgov diff-profiles A B`: the same missions judged under two profiles, nothing written or sent.
///
/// How an operator previews a switch before making it: per mission, which findings only one
/// profile raises and which differ in severity or decision; then the settings that differ.
public struct ProfileDiff {
    public struct MissionDifference: Codable, Sendable, Equatable {
        public var mission_id: String
        public var only_a: [String]
        public var only_b: [String]
        public var changed: [String]
    }

    public struct SettingDifference: Codable, Sendable, Equatable {
        public var path: String
        public var a: String
        public var b: String
    }

    public struct Report: Codable, Sendable {
        public var a: String
        public var b: String
        public var now: Date
        public var missions_evaluated: Int
        public var missions_skipped: [String]
        public var missions: [MissionDifference]
        public var settings: [SettingDifference]
    }

    public static func compare(_ a: Deployment, _ b: Deployment, now: Date) throws -> Report {
        let layout = a.layout
        var evaluated = 0
        var skipped: [String] = []
        var differences: [MissionDifference] = []
        func judged(_ mission: MissionSnapshot, _ d: Deployment) -> [String: String] {
            var out: [String: String] = [:]
            for f in PolicyCatalog.evaluate(mission, rules: d.rules, now: now) {
                out[f.rule_id + (f.subject.map { " [\($0)]" } ?? "")] = "\(f.severity.rawValue), \(f.outcome.rawValue)"
            }
            return out
        }
        for id in try layout.missionIDs() {
            guard let mission = try? MissionStore(layout: layout).read(id) else {
                skipped.append(StateLayout.artifactName(id))
                continue
            }
            evaluated += 1
            let fa = judged(mission, a)
            let fb = judged(mission, b)
            let onlyA = fa.filter { fb[$0.key] == nil }.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            let onlyB = fb.filter { fa[$0.key] == nil }.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            let changed = fa.sorted { $0.key < $1.key }.compactMap { key, value in
                fb[key].flatMap { other in other != value ? "\(key): \(value) -> \(other)" : nil }
            }
            if !(onlyA.isEmpty && onlyB.isEmpty && changed.isEmpty) {
                differences.append(
                    MissionDifference(mission_id: mission.mission_id, only_a: onlyA, only_b: onlyB, changed: changed))
            }
        }
        return Report(
            a: a.profileReference, b: b.profileReference, now: now, missions_evaluated: evaluated,
            missions_skipped: skipped,
            missions: differences.sorted { $0.mission_id < $1.mission_id }, settings: settingDifferences(a, b))
    }

    static func settingDifferences(_ a: Deployment, _ b: Deployment) -> [SettingDifference] {
        func settings(_ d: Deployment) -> [String: String] {
            var out: [String: String] = [:]
            for e in d.profile.explain { out[e.path] = e.value }
            for rule in d.rules {
                out["policies.\(rule.ruleID).severity"] = rule.severity.rawValue
                for (name, value) in rule.values { out["policies.\(rule.ruleID).\(name)"] = value.text }
            }
            out["capability_descriptor"] = d.descriptorReference
            return out
        }
        let sa = settings(a)
        let sb = settings(b)
        return Set(sa.keys).union(sb.keys).sorted().compactMap { path in
            let va = sa[path] ?? "-"
            let vb = sb[path] ?? "-"
            return va == vb ? nil : SettingDifference(path: path, a: va, b: vb)
        }
    }

    public static func describe(_ r: Report) -> String {
        var lines = [
            "diff-profiles \(r.a) -> \(r.b) at \(Timestamp.format(r.now)): \(r.missions_evaluated) missions, \(r.missions.count) judged differently"
        ]
        for m in r.missions {
            lines.append("  \(m.mission_id)")
            for f in m.only_a { lines.append("    - \(f)   only under \(r.a)") }
            for f in m.only_b { lines.append("    + \(f)   only under \(r.b)") }
            for f in m.changed { lines.append("    ~ \(f)") }
        }
        if !r.missions_skipped.isEmpty {
            lines.append("  not evaluated (invalid): \(r.missions_skipped.joined(separator: ", "))")
        }
        lines.append("  settings that differ:")
        for s in r.settings { lines.append("    \(s.path): \(s.a) -> \(s.b)") }
        return lines.joined(separator: "\n")
    }
}

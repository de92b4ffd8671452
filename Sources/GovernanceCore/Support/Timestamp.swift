import Foundation

/// RFC 3339 times: rgov reads any offset and precision, and writes UTC with milliseconds.
///
/// Written by hand rather than with `ISO8601DateFormatter`, which is a class (not `Sendable`),
/// accepts either fractional seconds or none per instance, and is slow per call.
public enum Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`, `z` and a space separator are accepted too.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ chars: [UInt8]) -> Bool {
            guard i < b.count, chars.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect([45]), let month = digits(2), expect([45]), let day = digits(2),
            expect([84, 116, 32]), let hour = digits(2), expect([58]), let minute = digits(2), expect([58]),
            let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysInMonth(year, month)).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2), expect([58]), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Whole milliseconds since 1970, rounded to the nearest: the unit every threshold compares in,
    /// so binary floating point never decides whether a mission is 1 ms late.
    public static func milliseconds(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        // Clamped, never trapping: a time from input can be anything a Date holds.
        guard ms.isFinite else { return 0 }
        return Int64(max(-9.0e18, min(9.0e18, ms)))
    }

    /// The time `ms` whole milliseconds after 1970.
    public static func date(milliseconds ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, nearest millisecond).
    public static func format(_ date: Date) -> String {
        let totalMillis = milliseconds(date)
        var days = totalMillis / 86_400_000
        var rem = totalMillis % 86_400_000
        if rem < 0 {
            rem += 86_400_000
            days -= 1
        }
        let (y, m, d) = civilFromDays(Int(days))
        let ms = Int(rem % 1000)
        let s = Int(rem / 1000)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(s / 3600, 2) + ":" + pad(s / 60 % 60, 2) + ":"
            + pad(s % 60, 2) + "." + pad(ms, 3) + "Z"
    }

    /// The UTC calendar day, `YYYY-MM-DD`, used to name date partitions.
    public static func day(_ date: Date) -> String { String(format(date).prefix(10)) }

    /// A compact UTC form for identifiers: `YYYYMMDDTHHMMSSmmmZ`.
    public static func compact(_ date: Date) -> String {
        format(date).filter { $0 != "-" && $0 != ":" && $0 != "." }
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    private static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    private static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
    private static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// Where "now" comes from: the real clock, or a pinned instant (`--now`) for tests and replays.
public struct Clock: Sendable {
    private let pinned: Date?

    public static let system = Clock(pinned: nil)
    public static func pinned(_ date: Date) -> Clock { Clock(pinned: date) }

    public func now() -> Date { pinned ?? Date() }
    public var isPinned: Bool { pinned != nil }
}

extension Int64 {
    /// `self + other`, clamped to the representable range instead of trapping.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}

extension Date {
    func milliseconds(since earlier: Date) -> Int64 { Timestamp.milliseconds(self) - Timestamp.milliseconds(earlier) }

    func adding(ms: Int64) -> Date { addingTimeInterval(Double(ms) / 1000) }
}

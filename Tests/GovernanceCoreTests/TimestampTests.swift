import Foundation
import Testing

@testable import GovernanceCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-20T12:00:00Z", 1_795_176_000.0),
        ("2026-11-20T12:00:00.5Z", 1_795_176_000.5),
        ("2026-11-20T12:00:00.250+00:00", 1_795_176_000.25),
        ("2026-11-20T14:00:00+02:00", 1_795_176_000.0),
        ("2026-11-20T07:30:00-04:30", 1_795_176_000.0),
        ("2026-11-20t12:00:00z", 1_795_176_000.0),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
        ("1970-01-01T00:00:00Z", 0.0),
    ])
    func parsesRFC3339(text: String, epoch: Double) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 0.0005)
    }

    @Test(arguments: [
        "", "2026-11-20", "2026-11-20T12:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
        "2026-11-20T24:00:00Z", "2026-11-20T12:00:00.Z", "2026-11-20T12:00:00Zjunk", "2026-11-20T12:00:00+0200",
        "20261120T120000Z",
    ])
    func rejectsMalformed(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_176_000.25)) == "2026-11-20T12:00:00.250Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.day(Date(timeIntervalSince1970: 1_795_219_199)) == "2026-11-20")
        #expect(Timestamp.compact(Date(timeIntervalSince1970: 1_795_176_000)) == "20261120T120000000Z")
    }

    @Test func roundTripsThroughCanonicalJSON() throws {
        struct Box: Codable, Equatable { var at: Date }
        let box = Box(at: Date(timeIntervalSince1970: 1_795_176_000.123))
        let data = try CanonicalJSON.encode(box)
        #expect(String(decoding: data, as: UTF8.self) == #"{"at":"2026-11-20T12:00:00.123Z"}"#)
        #expect(try CanonicalJSON.decode(Box.self, from: data) == box)
    }
}

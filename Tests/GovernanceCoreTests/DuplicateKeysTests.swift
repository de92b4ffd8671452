import Foundation
import Testing

@testable import GovernanceCore

/// A key twice in one object is found, wherever it is and however it is escaped; keys of other
/// objects, and strings that are values, never count.
@Suite struct DuplicateKeysTests {
    @Test(arguments: [
        (#"{"a": 1, "a": 2}"#, "a", 9),
        (#"{"x": {"b": 1, "c": [1, {"b": 2}], "b": 3}}"#, "b", 35),
        (#"{"ab": 1, "a\u0062": 2}"#, "ab", 10),
        (#"{"a": "x\"}{,\"a\": ", "a": 1}"#, "a", 23),
        (#"{"é": 1, "\u00e9": 2}"#, "é", 10),
        (#"{"k\\": 1, "k\\": 2}"#, #"k\"#, 11),
    ])
    func aKeyTwiceInOneObjectIsFound(json: String, key: String, offset: Int) {
        let found = DuplicateKeys.first(in: Data(json.utf8))
        #expect(found?.key == key, "\(json)")
        #expect(found?.offset == offset, "\(json)")
    }

    @Test(arguments: [
        #"{"a": 1, "b": {"a": 2}}"#,
        #"[{"a": 1}, {"a": 2}]"#,
        #"{"a": "a", "b": "a"}"#,
        #"{"a": ["a", "a"], "b": 1}"#,
        #"{"a\"": 1, "a": 2}"#,
        #"{"text": "{\"a\": 1, \"a\": 2}"}"#,
    ])
    func keysOfOtherObjectsAndValuesDoNotCount(json: String) {
        #expect(DuplicateKeys.first(in: Data(json.utf8)) == nil, "\(json)")
    }
}

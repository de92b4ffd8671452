import Testing

@testable import GovernanceCore

@Suite struct IdentifierTests {
    @Test(arguments: ["m1", "crm-overdue-02", "a.b_c-d", String(repeating: "x", count: 128)])
    func acceptsSafeIDs(id: String) { #expect(Identifier.isValid(id)) }

    @Test(arguments: [
        "", "../etc", "a/b", ".hidden", "-dash", "_x", "a b", "a\u{0}b", "é", "$(touch x)",
        String(repeating: "x", count: 129),
    ])
    func rejectsPathsAndJunk(id: String) {
        #expect(!Identifier.isValid(id))
        #expect(throws: RgovError.self) { try Identifier.validate(id, what: "mission_id") }
    }

    @Test func derivedIDsAreDeterministicValidAndDistinct() {
        let a = Identifier.derived("ntc", "m1", "rule")
        #expect(a == Identifier.derived("ntc", "m1", "rule"))
        #expect(a != Identifier.derived("ntc", "m1r", "ule"))
        #expect(Identifier.isValid(a) && a.hasPrefix("ntc-") && a.count == 28)
    }
}

import Foundation
import Testing

@testable import GovernanceCore

struct RedactionTests {
    let redactor = Redactor(environment: ["HOOK_TOKEN": "tok-0123456789", "SHORT_KEY": "abc", "HOME": "/root"])

    @Test func secretsAreReplacedWhereverTheyStand() {
        #expect(redactor.redact("a tok-0123456789 b tok-0123456789") == "a [redacted] b [redacted]")
        // Under four characters a value is not taken for a secret; nor is a variable not named as one.
        #expect(redactor.redact("abc /root") == "abc /root")
    }

    /// A cut never leaves part of a secret: the text is redacted whole first.
    @Test func aCutThroughASecretLeavesNoneOfIt() {
        let text = "xx tok-0123456789 yy"
        #expect(redactor.head(text, 10) == "xx [redact")
        #expect(redactor.tail(text, 9) == "acted] yy")
        for count in 0...text.count {
            #expect(!redactor.head(text, count).contains("0123"), "\(count)")
            #expect(!redactor.tail(text, count).contains("0123"), "\(count)")
        }
    }
}

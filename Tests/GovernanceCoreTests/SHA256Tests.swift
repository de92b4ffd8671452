import Foundation
import Testing

@testable import GovernanceCore

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func nistVectors(input: String, expected: String) {
        #expect(SHA256.hex(of: input) == expected)
    }

    @Test func oneMillionA() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingEqualsOneShotAcrossBlockBoundaries() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 999] {
            var hasher = SHA256()
            hasher.update(Array(bytes[0..<split]))
            hasher.update(Array(bytes[split...]))
            #expect(hasher.hexDigest() == SHA256.hex(of: bytes), "split at \(split)")
        }
    }

    @Test func agreesWithSha256sumOnRandomFiles() throws {
        let dir = NSTemporaryDirectory() + "rgov-sha-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 63, 64, 65, 1000, 70_001] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let path = dir + "/f\(size)"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try ChildProcess.run(
                ChildSpec(executable: "/usr/bin/sha256sum", arguments: [path], deadline: 10))
            #expect(result.status == 0)
            #expect(String(result.stdoutText.prefix(64)) == SHA256.hex(of: bytes), "size \(size)")
        }
    }
}

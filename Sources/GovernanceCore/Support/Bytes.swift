import Foundation

/// Byte searches, for the places where a byte pre-filter saves a parse or a Unicode-aware search.
enum Bytes {
    /// Whether `needle` occurs in `haystack`, byte for byte.
    static func contains<H: Collection<UInt8>>(_ haystack: H, _ needle: [UInt8]) -> Bool {
        if let found = haystack.withContiguousStorageIfAvailable({ search($0, needle) }) { return found }
        return Array(haystack).withUnsafeBufferPointer { search($0, needle) }
    }

    private static func search(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        guard needle.count <= bytes.count, let base = bytes.baseAddress else { return false }
        return needle.withUnsafeBufferPointer { needle in
            guard let wanted = needle.baseAddress else { return true }
            for i in 0...(bytes.count - needle.count) where bytes[i] == first {
                if memcmp(base + i, wanted, needle.count) == 0 { return true }
            }
            return false
        }
    }
}

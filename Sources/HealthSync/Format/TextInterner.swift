import Foundation

/// Texts decoded before, found again by their bytes: a decoder that meets the same name, topology element or message
/// in every snapshot of a capture hands out the string it made the first time instead of a new one.
///
/// A hit saves the string's allocation and its release later, and makes the comparisons downstream cheap: two
/// strings that share their storage compare equal without reading their bytes (the processor compares every
/// repeated check state with the stored one, and the store looks each event's texts up by value).
///
/// The table is bounded: `capacity` slots in buckets of four, a text replacing another of its bucket when the bucket
/// is full; it never holds more than `capacity` strings, of at most `longest` bytes each. Texts of at most 15 bytes
/// are not held (Swift keeps them in the string value itself, with no allocation to save). Not thread-safe: one
/// decoding loop owns it.
final class TextInterner {
    private static let bucketSize = 4
    private var slots: [String?]
    private let mask: Int
    private let longest: Int
    /// How many texts took a slot of a full bucket: which slot the next one takes.
    private var replacements = 0

    /// Creates a table of at least `capacity` slots (rounded up to a power of two, at least one bucket) that holds
    /// texts of at most `longest` bytes.
    init(capacity: Int, longest: Int) {
        var size = Self.bucketSize
        while size < capacity { size <<= 1 }
        slots = Array(repeating: nil, count: size)
        mask = size - Self.bucketSize
        self.longest = longest
    }

    /// How many texts the table holds (counted through every slot: for tests).
    var count: Int { slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// The string of `bytes`: the one made before for the same bytes when the table holds it, a new one otherwise
    /// (held from then on). `nil` when the bytes are not valid UTF-8 (`ascii` says they are all below 0x80).
    func string(_ bytes: UnsafeRawBufferPointer, ascii: Bool) -> String? {
        guard bytes.count > 15, bytes.count <= longest else { return Self.make(bytes, ascii: ascii) }
        let bucket = Self.hash(bytes) & mask
        for slot in bucket..<(bucket + Self.bucketSize) {
            guard let held = slots[slot] else {
                guard let made = Self.make(bytes, ascii: ascii) else { return nil }
                slots[slot] = made
                return made
            }
            if Self.matches(held, bytes) { return held }
        }
        guard let made = Self.make(bytes, ascii: ascii) else { return nil }
        // A full bucket: the texts take its slots in turn.
        slots[bucket + (replacements & (Self.bucketSize - 1))] = made
        replacements &+= 1
        return made
    }

    private static func make(_ bytes: UnsafeRawBufferPointer, ascii: Bool) -> String? {
        ascii ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    private static func matches(_ held: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let equal = held.utf8.withContiguousStorageIfAvailable { stored in
            // (The texts held are longer than 15 bytes: both have storage.)
            guard stored.count == bytes.count, let storedBase = stored.baseAddress, let base = bytes.baseAddress else {
                return false
            }
            return memcmp(storedBase, base, bytes.count) == 0
        }
        return equal ?? false
    }

    /// A hash of more than 15 bytes, eight at a time: which bucket to look in, nothing more (the bytes are compared).
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var offset = 0
        while offset + 8 <= bytes.count {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
            offset += 8
        }
        // The last eight bytes (overlapping the words before when the count is not a multiple of eight).
        hash = (hash ^ bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
        // The high bits into the low ones, which pick the bucket.
        hash ^= hash >> 33
        hash = hash &* 0xFF51_AFD7_ED55_8CCD
        hash ^= hash >> 33
        return Int(truncatingIfNeeded: hash)
    }
}

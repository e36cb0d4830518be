import Foundation

/// A hash table keyed by byte strings (UTF-8 pieces and words), open addressing.
///
/// Lookups take a buffer of bytes, so the encoder never builds a `String` (or hashes one, which
/// normalizes it) per word; keys live side by side in one byte array and compare with `memcmp`.
struct ByteKeyTable<Value> {
    private var keyBytes: [UInt8] = []
    /// Key `i` is `keyBytes[keyEnds[i - 1] ..< keyEnds[i]]` (0 before the first).
    private var keyEnds: [Int] = []
    private(set) var values: [Value] = []
    /// Power-of-two count; each slot is empty (0) or `hash.high32 << 32 | (entry + 1)`.
    private var slots: [UInt64]

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = [UInt64](repeating: 0, count: size)
    }

    var count: Int { values.count }

    /// The bytes of entry `index`'s key.
    func key(at index: Int) -> ArraySlice<UInt8> {
        keyBytes[(index == 0 ? 0 : keyEnds[index - 1])..<keyEnds[index]]
    }

    /// The entry index of `key`, or nil.
    func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        let hash = hashBytes(key)
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var position = Int(truncatingIfNeeded: hash) & mask
            while true {
                let slot = slots[position]
                if slot == 0 { return nil }
                if slot >> 32 == hash >> 32 {
                    let entry = Int(slot & 0xFFFF_FFFF) - 1
                    if keyEquals(entry, key) { return entry }
                }
                position = (position + 1) & mask
            }
        }
    }

    func value(for key: UnsafeBufferPointer<UInt8>) -> Value? {
        index(of: key).map { values[$0] }
    }

    func value<Bytes: Collection<UInt8>>(forKey key: Bytes) -> Value? {
        Array(key).withUnsafeBufferPointer { value(for: $0) }
    }

    /// Adds `key` → `value` and returns the new entry's index, or returns the index of the entry
    /// already there (leaving its value).
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, _ value: Value) -> (index: Int, inserted: Bool) {
        if let existing = index(of: key) { return (existing, false) }
        if (values.count + 1) * 2 > slots.count { grow() }
        let entry = values.count
        keyBytes.append(contentsOf: key)
        keyEnds.append(keyBytes.count)
        values.append(value)
        place(entry: entry, hash: hashBytes(key))
        return (entry, true)
    }

    @discardableResult
    mutating func insert<Bytes: Collection<UInt8>>(key: Bytes, _ value: Value) -> (index: Int, inserted: Bool) {
        Array(key).withUnsafeBufferPointer { insert($0, value) }
    }

    mutating func setValue(_ value: Value, at index: Int) {
        values[index] = value
    }

    private mutating func place(entry: Int, hash: UInt64) {
        let mask = slots.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while slots[position] != 0 { position = (position + 1) & mask }
        slots[position] = (hash >> 32) << 32 | UInt64(entry + 1)
    }

    private mutating func grow() {
        slots = [UInt64](repeating: 0, count: slots.count * 2)
        for entry in 0..<values.count {
            let hash = keyBytes.withUnsafeBufferPointer { bytes in
                hashBytes(UnsafeBufferPointer(rebasing: bytes[(entry == 0 ? 0 : keyEnds[entry - 1])..<keyEnds[entry]]))
            }
            place(entry: entry, hash: hash)
        }
    }

    @inline(__always)
    private func keyEquals(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = entry == 0 ? 0 : keyEnds[entry - 1]
        guard keyEnds[entry] - start == key.count else { return false }
        if key.isEmpty { return true }
        return keyBytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, key.baseAddress!, key.count) == 0 }
    }
}

/// A 64-bit hash of a short byte string: eight bytes at a time, mixed with the multiply–xorshift
/// steps of splitmix64.
@inline(__always)
func hashBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
    guard let base = bytes.baseAddress else { return hash }
    let raw = UnsafeRawPointer(base)
    var i = 0
    while i + 8 <= bytes.count {
        hash = (hash ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
        hash ^= hash >> 31
        i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < bytes.count {
        tail |= UInt64(base[i]) << shift
        shift += 8
        i += 1
    }
    hash = (hash ^ tail) &* 0x94D0_49BB_1331_11EB
    hash ^= hash >> 29
    hash = hash &* 0xBF58_476D_1CE4_E5B9
    return hash ^ (hash >> 32)
}

extension ByteKeyTable: Sendable where Value: Sendable {}

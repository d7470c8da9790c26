// InternTable: each distinct byte string (a subject id, a code) stored once and named by a small integer id.
import Foundation

/// Distinct strings in one contiguous byte buffer, looked up from bytes without making a `String`.
///
/// Ids are dense, `0..<count`, in order of first appearance. Memory is the distinct bytes plus about
/// 24 bytes per distinct string, however many rows mention it.
public struct InternTable: Sendable {
    private var storage: [UInt8] = []
    /// `ends[id]` is where string `id` ends in `storage`; it starts where `id - 1` ends.
    private var ends: [Int] = []
    private var hashes: [UInt64] = []
    /// Open addressing: each slot holds an id or -1; the count of slots is a power of two, at most half full.
    private var slots = [Int32](repeating: -1, count: 64)

    /// An empty table.
    public init() {}

    /// The number of distinct strings.
    public var count: Int { ends.count }

    /// The id returned last: rows of one subject come together in MEDS tables (sorted by subject and time), so the
    /// next lookup is often the same string and skips the hash table's cache misses.
    private var lastID: Int32 = -1

    /// The id of `bytes`, adding them when they are new.
    public mutating func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        if lastID >= 0, equals(Int(lastID), bytes) { return lastID }
        let hash = ByteHash.of(bytes)
        var slot = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while true {
            let id = slots[slot]
            if id < 0 { break }
            if hashes[Int(id)] == hash, equals(Int(id), bytes) {
                lastID = id
                return id
            }
            slot = (slot + 1) & (slots.count - 1)
        }
        let id = Int32(ends.count)
        lastID = id
        storage.append(contentsOf: bytes)
        ends.append(storage.count)
        hashes.append(hash)
        slots[slot] = id
        if ends.count * 2 > slots.count { grow() }
        return id
    }

    /// The id of `string`, adding it when it is new.
    public mutating func id(of string: String) -> Int32 {
        var string = string
        return string.withUTF8 { id(of: $0) }
    }

    /// The id of `string`, or nil when the table has never seen it.
    public func existingID(of string: String) -> Int32? {
        var string = string
        return string.withUTF8 { bytes in
            let hash = ByteHash.of(bytes)
            var slot = Int(truncatingIfNeeded: hash) & (slots.count - 1)
            while slots[slot] >= 0 {
                let id = slots[slot]
                if hashes[Int(id)] == hash, equals(Int(id), bytes) { return id }
                slot = (slot + 1) & (slots.count - 1)
            }
            return nil
        }
    }

    /// The string with `id`.
    public func string(_ id: Int32) -> String {
        let end = ends[Int(id)]
        let start = id == 0 ? 0 : ends[Int(id) - 1]
        return String(decoding: storage[start..<end], as: UTF8.self)
    }

    /// Every string, in id order.
    public var strings: [String] { (0..<Int32(count)).map(string) }

    private func equals(_ id: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = id == 0 ? 0 : ends[id - 1]
        guard ends[id] - start == bytes.count else { return false }
        return storage.withUnsafeBufferPointer { stored in
            bytes.isEmpty || memcmp(stored.baseAddress! + start, bytes.baseAddress!, bytes.count) == 0
        }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (id, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(id)
        }
    }
}

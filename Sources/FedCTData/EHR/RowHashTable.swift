// RowHashTable: the first line of every distinct row, kept as a 64-bit hash and a line number (12 bytes a slot), for duplicate-row checks.

/// Finds repeated rows without keeping them: each row is a 64-bit hash (`CSVByteScanner.recordHash`) with the line
/// that first had it. Two different rows share a hash with probability about n²/2⁶⁵ (3·10⁻⁶ for 10 million rows).
struct RowHashTable {
    /// Open addressing; 0 marks an empty slot (a hash of 0 is stored as 1). At most half full.
    private var keys = [UInt64](repeating: 0, count: 1024)
    private var lines = [UInt32](repeating: 0, count: 1024)
    private var count = 0

    /// The line that first had `hash`, or nil after recording `line` as its first.
    mutating func firstLine(of hash: UInt64, line: Int) -> Int? {
        let key = hash == 0 ? 1 : hash
        let mask = keys.count - 1
        var slot = Int(truncatingIfNeeded: key) & mask
        while keys[slot] != 0 {
            if keys[slot] == key { return Int(lines[slot]) }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        lines[slot] = UInt32(truncatingIfNeeded: line)
        count += 1
        if count * 2 > keys.count { grow() }
        return nil
    }

    private mutating func grow() {
        let oldKeys = keys, oldLines = lines
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        lines = [UInt32](repeating: 0, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for (key, line) in zip(oldKeys, oldLines) where key != 0 {
            var slot = Int(truncatingIfNeeded: key) & mask
            while keys[slot] != 0 { slot = (slot + 1) & mask }
            keys[slot] = key
            lines[slot] = line
        }
    }
}

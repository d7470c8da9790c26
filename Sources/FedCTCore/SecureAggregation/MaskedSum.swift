// MaskedSum: the coordinator's running sum of masked inputs mod 2^32 — one vector of the model's size however many sites.

/// Adds masked inputs as they stream in, then removes the masks with the rebuilt secrets.
public struct MaskedSum: Sendable {
    public let wordCount: Int
    public private(set) var contributors: [String] = []
    private var words: [UInt32]
    private var open: (site: String, filled: Int)?

    public init(wordCount: Int) {
        self.wordCount = wordCount
        self.words = [UInt32](repeating: 0, count: wordCount)
    }

    public mutating func begin(site: String) throws {
        guard open == nil else { throw FedCTError(.failedPrecondition, "masked sum: \(site) started before \(open!.site) ended") }
        guard !contributors.contains(site) else { throw FedCTError(.protocolViolation, "\(site) already contributed a masked input") }
        open = (site, 0)
    }

    /// Adds the next little-endian words of the open contribution, from bytes on a word boundary.
    public mutating func add(littleEndianWords bytes: UnsafeRawBufferPointer) throws {
        guard let current = open else { throw FedCTError(.failedPrecondition, "masked sum: words with no open contribution") }
        let count = bytes.count / 4
        guard bytes.count % 4 == 0, current.filled + count <= wordCount else {
            throw FedCTError(.integrity, "the masked input from \(current.site) is longer than the \(wordCount) words of this round")
        }
        words.withUnsafeMutableBufferPointer { target in
            for index in 0..<count {
                target[current.filled + index] &+= UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
            }
        }
        open!.filled += count
    }

    public mutating func end() throws {
        guard let current = open else { throw FedCTError(.failedPrecondition, "masked sum: end with no open contribution") }
        guard current.filled == wordCount else {
            throw FedCTError(.integrity, "the masked input from \(current.site) has \(current.filled) words; this round needs \(wordCount)")
        }
        contributors.append(current.site)
        open = nil
    }

    /// The plain sum of the contributions, once `recovery` removes every mask.
    public func unmasked(with recovery: SecAggServerRound.Recovery) throws -> [UInt32] {
        try unmasked(0..<wordCount, with: recovery)
    }

    /// Words `range` of the plain sum: a copy of that part of the masked sum with every mask removed there, so a sum
    /// can be unmasked part by part in memory of the part's size.
    public func unmasked(_ range: Range<Int>, with recovery: SecAggServerRound.Recovery) throws -> [UInt32] {
        guard open == nil else { throw FedCTError(.failedPrecondition, "masked sum: a contribution is still open") }
        guard range.lowerBound >= 0, range.upperBound <= wordCount else {
            throw FedCTError(.failedPrecondition, "masked sum: words \(range) are outside its \(wordCount) words")
        }
        var plain = Array(words[range])
        try plain.withUnsafeMutableBufferPointer { buffer in
            for key in recovery.selfMaskKeys { try MaskExpansion(key: key).apply(.subtract, to: buffer, wordOffset: range.lowerBound) }
            for correction in recovery.pairwiseCorrections {
                try MaskExpansion(key: correction.key).apply(correction.sign, to: buffer, wordOffset: range.lowerBound)
            }
        }
        return plain
    }
}

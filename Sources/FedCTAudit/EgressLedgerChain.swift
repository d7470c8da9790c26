// EgressLedgerChain: the pure hash chain of the egress ledger — seals entries into signed lines and reads lines back.
import FedCTCore
import Crypto
import Foundation

/// A signed ledger line taken apart: the exact entry bytes that were hashed and signed, the entry, its hash and signature.
public struct SealedEntry: Sendable {
    /// The entry's canonical JSON, exactly as hashed and signed.
    public var body: [UInt8]
    public var entry: EgressEntry
    /// SHA-256 of ``body`` as written in the line (hex).
    public var hash: String
    /// The DER ECDSA P-256 signature of ``body`` as written in the line.
    public var signature: [UInt8]
}

/// The chain's state: the next sequence number and the hash of the last entry. ``seal(_:sign:)`` turns an entry into
/// the line to append; nothing here does I/O, so the writer (the site's `EgressLedger`) and `fedctl audit` share it.
public struct EgressLedgerChain: Sendable, Equatable {
    /// The `prev` of the first entry.
    public static let genesis = String(repeating: "0", count: 64)
    /// The next entry's sequence number.
    public private(set) var nextSeq = 0
    /// The last entry's hash (``genesis`` when empty).
    public private(set) var head = EgressLedgerChain.genesis

    /// An empty chain.
    public init() {}

    /// The chain continuing after `last` (the file's last entry).
    public init(after last: SealedEntry) {
        nextSeq = last.entry.seq + 1
        head = last.hash
    }

    /// Numbers `entry`, links it to the head, signs its canonical JSON with `sign` and returns the line to append
    /// (ending in a newline). The chain advances only when signing succeeds.
    public mutating func seal(_ entry: EgressEntry, sign: ([UInt8]) throws -> [UInt8]) throws -> (line: [UInt8], sealed: SealedEntry) {
        var entry = entry
        entry.seq = nextSeq
        entry.prev = head
        let body = try Self.canonical(entry)
        let hash = SHA256.hex(body)
        let signature = try sign(body)
        var line = Array(body.dropLast())
        line += Array(#","hash":"\#(hash)","sig":"\#(Data(signature).base64EncodedString())"}"#.utf8)
        line.append(0x0A)
        nextSeq += 1
        head = hash
        return (line, SealedEntry(body: body, entry: entry, hash: hash, signature: signature))
    }

    /// The entry's canonical JSON: sorted keys, no escaped slashes, ISO 8601 dates.
    public static func canonical(_ entry: EgressEntry) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try encoder.encode(entry))
    }

    private static let hashMarker = Array(#","hash":""#.utf8)

    /// The two fields a line adds to the entry.
    private struct Seal: Decodable {
        var hash: String
        var sig: String
    }

    /// Takes one line (without its newline) apart; throws a message saying what is wrong with it.
    public static func unseal(_ line: some Collection<UInt8>) throws -> SealedEntry {
        let bytes = Array(line)
        guard let marker = lastRange(of: hashMarker, in: bytes) else {
            throw FedCTError(.integrity, "not a signed ledger entry (no \"hash\" field at its end)")
        }
        let body = Array(bytes[..<marker.lowerBound]) + [UInt8(ascii: "}")]
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let seal: Seal
        let entry: EgressEntry
        do {
            seal = try decoder.decode(Seal.self, from: Data(bytes))
            entry = try decoder.decode(EgressEntry.self, from: Data(body))
        } catch {
            throw FedCTError(.integrity, "not a readable ledger entry (\(error))")
        }
        guard let signature = Data(base64Encoded: seal.sig) else {
            throw FedCTError(.integrity, "its signature is not base64")
        }
        return SealedEntry(body: body, entry: entry, hash: seal.hash, signature: Array(signature))
    }

    private static func lastRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for start in stride(from: haystack.count - needle.count, through: 0, by: -1) where haystack[start] == needle[0] {
            if Array(haystack[start..<start + needle.count]) == needle { return start..<start + needle.count }
        }
        return nil
    }
}

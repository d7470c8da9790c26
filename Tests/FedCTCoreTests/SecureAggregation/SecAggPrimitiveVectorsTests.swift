// SecAggPrimitiveVectorsTests: pins the primitives secure aggregation uses to their RFCs' published test vectors.
import Crypto
@testable import FedCTCore
import XCTest

final class SecAggPrimitiveVectorsTests: XCTestCase {
    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    static func littleEndianWords(_ hex: String) -> [UInt32] {
        let raw = bytes(hex)
        return stride(from: 0, to: raw.count, by: 4).map { i in
            UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24
        }
    }

    /// RFC 8439 appendix A.1, test vectors #1 and #2: the ChaCha20 block of the all-zero key and nonce at counters 0 and 1.
    func testMaskIsTheChaCha20KeystreamOfRFC8439() throws {
        let block0 = Self.littleEndianWords("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586")
        let block1 = Self.littleEndianWords("9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f")
        let mask = try MaskExpansion(key: SymmetricKey(data: [UInt8](repeating: 0, count: 32)))
        var words = [UInt32](repeating: 0, count: 32)
        try words.withUnsafeMutableBufferPointer { try mask.apply(.add, to: $0) }
        XCTAssertEqual(words, block0 + block1)
        // Word i is the same when the mask starts mid-vector: block 1 alone at word offset 16, and an unaligned slice.
        var second = [UInt32](repeating: 0, count: 16)
        try second.withUnsafeMutableBufferPointer { try mask.apply(.add, to: $0, wordOffset: 16) }
        XCTAssertEqual(second, block1)
        var unaligned = [UInt32](repeating: 0, count: 5)
        try unaligned.withUnsafeMutableBufferPointer { try mask.apply(.add, to: $0, wordOffset: 13) }
        XCTAssertEqual(unaligned, Array((block0 + block1)[13..<18]))
    }

    func testMaskAppliedInPiecesEqualsMaskAppliedAtOnceAndSubtractUndoesAdd() throws {
        let mask = try MaskExpansion(key: SymmetricKey(size: .bits256))
        let count = (1 << 18) + 1234  // crosses the 1 MiB keystream chunks several times
        var whole = [UInt32](repeating: 7, count: count)
        try whole.withUnsafeMutableBufferPointer { try mask.apply(.add, to: $0) }
        var pieces = [UInt32](repeating: 7, count: count)
        try pieces.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            for length in [1, 16, 100_003, 150_000] + [count] {
                let end = min(count, start + length)
                guard start < end else { break }
                try mask.apply(.add, to: UnsafeMutableBufferPointer(rebasing: buffer[start..<end]), wordOffset: start)
                start = end
            }
        }
        XCTAssertEqual(whole, pieces)
        XCTAssertNotEqual(whole[0..<64], [UInt32](repeating: 7, count: 64)[...])
        try whole.withUnsafeMutableBufferPointer { try mask.apply(.subtract, to: $0) }
        XCTAssertEqual(whole, [UInt32](repeating: 7, count: count))
    }

    /// RFC 7748 section 6.1: Alice's and Bob's X25519 keys and their shared secret.
    func testX25519MatchesRFC7748() throws {
        let alice = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Self.bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        let bob = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Self.bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        XCTAssertEqual(Array(alice.publicKey.rawRepresentation), Self.bytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
        XCTAssertEqual(Array(bob.publicKey.rawRepresentation), Self.bytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
        let shared = try alice.sharedSecretFromKeyAgreement(with: bob.publicKey)
        XCTAssertEqual(shared.withUnsafeBytes { Array($0) }, Self.bytes("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"))
    }

    /// RFC 5869 appendix A.1, test case 1 (HKDF-SHA256).
    func testHKDFMatchesRFC5869() {
        let okm = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: [UInt8](repeating: 0x0b, count: 22)),
                                         salt: Array(0x00...0x0c) as [UInt8], info: Array(0xf0...0xf9) as [UInt8], outputByteCount: 42)
        XCTAssertEqual(okm.withUnsafeBytes { Array($0) },
                       Self.bytes("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
    }
}

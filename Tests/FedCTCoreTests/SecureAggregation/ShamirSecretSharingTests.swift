// ShamirSecretSharingTests: field arithmetic against 128-bit reference arithmetic, and t-of-n sharing as a property.
@testable import FedCTCore
import XCTest

final class ShamirSecretSharingTests: XCTestCase {
    func testFieldArithmeticMatchesWideIntegers() throws {
        var random = TestGenerator(seed: 1)
        let p = UInt128(FieldElement.modulus)
        for _ in 0..<2000 {
            let a = FieldElement.random(using: &random), b = FieldElement.random(using: &random)
            XCTAssertEqual(UInt128((a * b).value), UInt128(a.value) * UInt128(b.value) % p)
            XCTAssertEqual(UInt128((a + b).value), (UInt128(a.value) + UInt128(b.value)) % p)
            XCTAssertEqual(UInt128((a - b).value), (UInt128(a.value) + p - UInt128(b.value)) % p)
            if a != .zero { XCTAssertEqual(a * (try a.inverse()), .one) }
        }
        XCTAssertEqual(FieldElement(UInt64.max).value, UInt64(UInt128(UInt64.max) % p))
        XCTAssertThrowsError(try FieldElement.zero.inverse())
    }

    func testAnyThresholdSubsetRebuildsTheSecretAndFewerCannot() throws {
        var random = TestGenerator(seed: 42)
        for trial in 0..<200 {
            let n = Int.random(in: 1...12, using: &random)
            let t = Int.random(in: 1...n, using: &random)
            let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
            let xs = (1...n).map(UInt64.init)
            let shares = try ShamirSecretSharing.split(secret, threshold: t, xs: xs, using: &random)
            let subset = Array(shares.shuffled(using: &random).prefix(Int.random(in: t...n, using: &random)))
            XCTAssertEqual(try ShamirSecretSharing.combine(subset, threshold: t, byteCount: 32), secret, "trial \(trial): n \(n) t \(t)")
            if t > 1 {
                XCTAssertThrowsError(try ShamirSecretSharing.combine(Array(subset.prefix(t - 1)), threshold: t, byteCount: 32))
            }
        }
    }

    func testFewerSharesThanThresholdRevealNothingAboutTheSecret() throws {
        // With t = 2, a single share of limb value v is v + r·x for uniform r: the same share arises for every secret.
        var random = TestGenerator(seed: 9)
        let shares = try ShamirSecretSharing.split([UInt8](repeating: 0, count: 32), threshold: 2, xs: [1, 2], using: &random)
        let fromOther = try ShamirSecretSharing.split([UInt8](repeating: 0xff, count: 32), threshold: 2, xs: [1, 2], using: &random)
        XCTAssertNotEqual(shares[0].limbs, fromOther[0].limbs)
        XCTAssertEqual(try ShamirSecretSharing.combine(shares, threshold: 2, byteCount: 32), [UInt8](repeating: 0, count: 32))
    }

    func testAlteredOrMismatchedSharesAreDetectedOrRefused() throws {
        var random = TestGenerator(seed: 5)
        let secret = [UInt8](repeating: 0xab, count: 32)
        var shares = try ShamirSecretSharing.split(secret, threshold: 3, xs: [1, 2, 3, 4], using: &random)
        XCTAssertThrowsError(try ShamirSecretSharing.combine([shares[0], shares[0], shares[1]], threshold: 3, byteCount: 32)) { error in
            XCTAssertTrue("\(error)".contains("distinct"), "\(error)")
        }
        shares[1].limbs[0] = shares[1].limbs[0] + .one
        XCTAssertNotEqual(try? ShamirSecretSharing.combine(Array(shares.prefix(3)), threshold: 3, byteCount: 32), secret)
        XCTAssertThrowsError(try ShamirSecretSharing.split(secret, threshold: 5, xs: [1, 2, 3], using: &random))
        XCTAssertThrowsError(try ShamirSecretSharing.split(secret, threshold: 2, xs: [0, 1], using: &random))
    }
}

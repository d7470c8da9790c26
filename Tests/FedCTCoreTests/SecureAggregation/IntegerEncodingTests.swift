// Tests of exact integer secure sums: limb sizing, the bound, and a masked setup-stage sum through the real site and coordinator state machines.
import Crypto
@testable import FedCTCore
import FedCTProto
import XCTest

final class IntegerEncodingTests: XCTestCase {
    func testLimbsAreAsWideAsTheSitesAllow() throws {
        XCTAssertEqual(try IntegerEncoding(maxValue: 1 << 40, sites: 1).limbBits, 32)
        let three = try IntegerEncoding(maxValue: 1 << 40, sites: 3)
        XCTAssertEqual(three.limbBits, 30, "3 × (2^30 − 1) < 2^32 ≤ 3 × (2^31 − 1)")
        XCTAssertEqual(three.limbsPerValue, 2, "41 bits in 30-bit limbs")
        XCTAssertEqual(try IntegerEncoding(maxValue: 1000, sites: 3).limbsPerValue, 1)
        XCTAssertThrowsError(try IntegerEncoding(maxValue: 1 << 40, sites: 70_000))
        XCTAssertThrowsError(try IntegerEncoding(maxValue: 1 << 62, sites: 4), "the decoded sum could exceed 2^63")
    }

    func testWordSumsDecodeToExactSumsAtTheBound() throws {
        let sites = 5
        let encoding = try IntegerEncoding(maxValue: 1 << 40, sites: sites)
        var generator = SystemRandomNumberGenerator()
        let inputs = (0..<sites).map { _ in [encoding.maxValue, 0, 1] + (0..<50).map { _ in UInt64.random(in: 0...encoding.maxValue, using: &generator) } }
        var words = [UInt32](repeating: 0, count: encoding.wordCount(values: inputs[0].count))
        for input in inputs {
            for (index, word) in try encoding.encode(input).enumerated() { words[index] &+= word }
        }
        let expected = (0..<inputs[0].count).map { index in inputs.reduce(0) { $0 + $1[index] } }
        XCTAssertEqual(try encoding.decode(sum: words), expected)
    }

    func testAValueAboveTheBoundIsRefusedByName() throws {
        let encoding = try IntegerEncoding(maxValue: 100, sites: 2)
        XCTAssertThrowsError(try encoding.encode([5, 101], name: { "observed hours of task \($0)" })) { error in
            XCTAssertTrue("\(error)".contains("observed hours of task 1 is 101"), "\(error)")
        }
    }

    /// Three sites sum a prevalence vector with the unchanged secure-aggregation state machines, bound to the stage's list.
    func testMaskedSetupSumIsExactAndBoundToItsStage() throws {
        let names = ["site-a", "site-b", "site-c"]
        let candidates = ["DEATH", "I26"]
        let context = SecAggContext(jobID: "job-1", round: TaskSetupStage.prevalence.wireRound, binding: TaskSetupStage.prevalence.listSHA256(candidates))
        let settings = SecAggParameters(threshold: 0, minCohort: 2, stepTimeout: 10)
        let keys = Dictionary(uniqueKeysWithValues: names.map { ($0, P256.Signing.PrivateKey()) })
        let verify: SecAggSiteSession.Verifier = { certificate, site, message, signature in
            guard let key = try? P256.Signing.PublicKey(pemRepresentation: certificate), certificate == keys[site]?.publicKey.pemRepresentation,
                  let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature), key.isValidSignature(parsed, for: message)
            else { throw FedCTError(.permissionDenied, "bad signature from \(site)") }
        }
        var server = SecAggServerRound(context: context, participants: names, settings: settings, now: 0)
        var sessions = Dictionary(uniqueKeysWithValues: names.map { ($0, SecAggSiteSession(context: context, site: $0)) })
        for site in names {
            let advertisement = try sessions[site]!.advertisement { Array(try keys[site]!.signature(for: $0).derRepresentation) }
            _ = try server.receiveAdvertisement(advertisement, from: site, certificatePEM: keys[site]!.publicKey.pemRepresentation, now: 0, verify: verify)
        }
        for site in names {
            let step = server.step(for: site)
            let shares = try sessions[site]!.shareKeys(advertisements: step.advertisements, threshold: Int(step.threshold), parameters: settings, verify: verify)
            _ = try server.receiveShares(shares, from: site, now: 0)
        }
        // The rates stage's session refuses the prevalence stage's keys.
        var other = SecAggSiteSession(context: SecAggContext(jobID: "job-1", round: TaskSetupStage.rates.wireRound,
                                                             binding: TaskSetupStage.rates.listSHA256(candidates)), site: "site-a")
        XCTAssertThrowsError(try other.shareKeys(advertisements: server.step(for: "site-a").advertisements, threshold: 2, parameters: settings, verify: verify))

        let encoding = try IntegerEncoding(maxValue: SetupEncoding.maxValue, sites: server.keyHolders.count)
        let inputs: [String: [UInt64]] = ["site-a": [120, 30, 4], "site-b": [200, 61, 9], "site-c": [80, SetupEncoding.maxValue, 0]]
        var sum = MaskedSum(wordCount: encoding.wordCount(values: 3))
        for site in names {
            let step = server.step(for: site)
            var words = try encoding.encode(inputs[site]!)
            try sessions[site]!.mask(&words, shareSenders: step.shareSenders, inbound: step.inboundShares)
            try sum.begin(site: site)
            try words.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            try sum.end()
            try server.maskedInputAccepted(from: site)
        }
        _ = server.closeMasking(now: 0)
        for site in names {
            _ = try server.receiveUnmask(try sessions[site]!.unmask(survivors: server.step(for: site).survivors), from: site, now: 0)
        }
        let decoded = try encoding.decode(sum: try sum.unmasked(with: try server.recovery()))
        XCTAssertEqual(decoded, [400, 91 + SetupEncoding.maxValue, 13])
    }

    func testSetupVectorsAboveTheBoundAreRefusedNamingTheValue() throws {
        XCTAssertNoThrow(try SetupEncoding.checkBound([0, SetupEncoding.maxValue], name: { "value \($0)" }))
        XCTAssertThrowsError(try SetupEncoding.checkBound([1, SetupEncoding.maxValue + 1], name: { "site-2's 'rates' value \($0)" })) {
            XCTAssertTrue("\($0)".contains("site-2's 'rates' value 1 is \(SetupEncoding.maxValue + 1)"), "\($0)")
        }
        XCTAssertEqual(try SetupEncoding.encoding(sites: 3).limbBits, 30)
    }
}

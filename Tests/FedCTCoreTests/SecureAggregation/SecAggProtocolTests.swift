// SecAggProtocolTests: the site and coordinator state machines together — exact sums under dropouts, aborts, forged and replayed messages.
import Crypto
@testable import FedCTCore
import FedCTProto
import XCTest

final class SecAggProtocolTests: XCTestCase {
    let settings = SecAggParameters(threshold: 0, minCohort: 2, stepTimeout: 10)

    func inputs(_ sites: Int, count: Int) -> [String: (update: [Float], weight: Int64)] {
        Dictionary(uniqueKeysWithValues: (0..<sites).map { index in
            ("site-\(Character(UnicodeScalar(97 + index)!))", ((0..<count).map { _ in Float.random(in: -0.05...0.05) }, Int64.random(in: 1...1000)))
        })
    }

    func testSumIsExactWithRandomDropoutsAtEveryStep() throws {
        let simulation = SecAggSimulation(settings: settings, clipNorm: 10, maxWeight: 1000)
        for seed in 0..<40 {
            let n = 3 + seed % 6
            let sites = inputs(n, count: 33)
            let threshold = max(settings.minCohort, n / 2 + 1)
            // Drop up to n − t sites, each before a random step (so some drop after sharing keys: their masks are rebuilt).
            let droppable = n - threshold
            var dropouts: [String: SecAggSimulation.DropPoint] = [:]
            for site in sites.keys.sorted().shuffled().prefix(Int.random(in: 0...droppable)) {
                dropouts[site] = SecAggSimulation.DropPoint.allCases.filter { $0 != .unmask }.randomElement()!
            }
            let report = try simulation.run(inputs: sites, dropouts: dropouts)
            XCTAssertTrue(report.sumIsExact, "seed \(seed): dropouts \(dropouts)")
            XCTAssertEqual(Set(report.survivors), Set(sites.keys).subtracting(dropouts.keys), "seed \(seed)")
            XCTAssertLessThanOrEqual(report.maxAbsoluteError, report.errorBound * 1.0001, "seed \(seed)")
        }
    }

    func testSurvivorsThatDropDuringUnmaskingAreToleratedAboveThreshold() throws {
        let simulation = SecAggSimulation(settings: settings, clipNorm: 10, maxWeight: 1000)
        let sites = inputs(5, count: 10)  // t = 3
        let report = try simulation.run(inputs: sites, dropouts: ["site-a": .unmask, "site-b": .unmask])
        XCTAssertTrue(report.sumIsExact)
        XCTAssertEqual(report.survivors.count, 5, "their inputs count; their shares were not needed")
    }

    func testRoundAbortsBelowThresholdAtEachStepWithoutRevealing() throws {
        let simulation = SecAggSimulation(settings: settings, clipNorm: 10, maxWeight: 1000)
        for point in SecAggSimulation.DropPoint.allCases {
            // t = 3 once five sites hold keys, so dropping 3 later leaves too few; before advertising, t follows the
            // key holders (⌊n/2⌋+1), so only falling below min_cohort (2) aborts.
            let sites = inputs(5, count: 4)
            let dropping = point == .advertise ? ["site-a", "site-b", "site-c", "site-e"] : ["site-a", "site-c", "site-e"]
            let dropouts = Dictionary(uniqueKeysWithValues: dropping.map { ($0, point) })
            XCTAssertThrowsError(try simulation.run(inputs: sites, dropouts: dropouts), "\(point)") { error in
                XCTAssertTrue("\(error)".contains("aborted"), "\(point): \(error)")
            }
        }
    }

    // MARK: Refusals

    struct Federation {
        let context = SecAggContext(jobID: "job-0001", round: 3, binding: String(repeating: "a", count: 64))
        let keys = ["site-a": P256.Signing.PrivateKey(), "site-b": P256.Signing.PrivateKey(), "site-c": P256.Signing.PrivateKey()]
        var certificates: [String: String] { keys.mapValues { $0.publicKey.pemRepresentation } }

        var verify: SecAggSiteSession.Verifier {
            let certificates = certificates
            return { certificate, site, message, signature in
                guard certificates[site] == certificate, let key = try? P256.Signing.PublicKey(pemRepresentation: certificate),
                      let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature), key.isValidSignature(parsed, for: message)
                else { throw FedCTError(.permissionDenied, "\(site)'s key advertisement is not signed by its certificate key") }
            }
        }

        func sign(_ site: String) -> SecAggSiteSession.Signer {
            let key = keys[site]!
            return { Array(try key.signature(for: $0).derRepresentation) }
        }
    }

    func testForgedAdvertisementIsRejected() throws {
        let federation = Federation()
        var server = SecAggServerRound(context: federation.context, participants: ["site-a", "site-b", "site-c"], settings: settings, now: 0)
        let session = SecAggSiteSession(context: federation.context, site: "site-a")
        // Signed by site-b's key but claiming to be site-a's.
        let forged = try session.advertisement(sign: federation.sign("site-b"))
        XCTAssertThrowsError(try server.receiveAdvertisement(forged, from: "site-a", certificatePEM: federation.certificates["site-a"]!, now: 0, verify: federation.verify)) {
            XCTAssertTrue("\($0)".contains("not signed"), "\($0)")
        }
        // A site advertising in another site's name.
        let genuine = try session.advertisement(sign: federation.sign("site-a"))
        XCTAssertThrowsError(try server.receiveAdvertisement(genuine, from: "site-b", certificatePEM: federation.certificates["site-b"]!, now: 0, verify: federation.verify)) {
            XCTAssertTrue("\($0)".contains("in the name of"), "\($0)")
        }
        // Altering a signed key after signing breaks the signature.
        var altered = genuine
        altered.maskPublicKey = Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation
        XCTAssertThrowsError(try server.receiveAdvertisement(altered, from: "site-a", certificatePEM: federation.certificates["site-a"]!, now: 0, verify: federation.verify))
        XCTAssertNoThrow(try server.receiveAdvertisement(genuine, from: "site-a", certificatePEM: federation.certificates["site-a"]!, now: 0, verify: federation.verify))
    }

    func testReplayedAdvertisementAndSwappedModelAreRejected() throws {
        let federation = Federation()
        var previous = federation.context
        previous.round = 2
        let replayed = try SecAggSiteSession(context: previous, site: "site-a").advertisement(sign: federation.sign("site-a"))
        var server = SecAggServerRound(context: federation.context, participants: ["site-a", "site-b", "site-c"], settings: settings, now: 0)
        XCTAssertThrowsError(try server.receiveAdvertisement(replayed, from: "site-a", certificatePEM: federation.certificates["site-a"]!, now: 0, verify: federation.verify)) {
            XCTAssertTrue("\($0)".contains("replayed"), "\($0)")
        }
        // A site handed another model than its peers refuses the key list.
        var otherModel = federation.context
        otherModel.binding = String(repeating: "b", count: 64)
        var site = SecAggSiteSession(context: otherModel, site: "site-b")
        var signed: [Fedct_V1_SignedAdvertisement] = []
        for name in ["site-a", "site-b", "site-c"] {
            var entry = Fedct_V1_SignedAdvertisement()
            entry.advertisement = try SecAggSiteSession(context: federation.context, site: name).advertisement(sign: federation.sign(name))
            entry.certificatePem = federation.certificates[name]!
            signed.append(entry)
        }
        XCTAssertThrowsError(try site.shareKeys(advertisements: signed, threshold: 2, parameters: settings, verify: federation.verify)) {
            XCTAssertTrue("\($0)".contains("the model differs"), "\($0)")
        }
    }

    /// Runs advertise and share for three sites; returns the sessions, server and the relayed step per site.
    func sharedRound(_ federation: Federation) throws -> ([String: SecAggSiteSession], SecAggServerRound) {
        let names = ["site-a", "site-b", "site-c"]
        var server = SecAggServerRound(context: federation.context, participants: names, settings: settings, now: 0)
        var sessions = Dictionary(uniqueKeysWithValues: names.map { ($0, SecAggSiteSession(context: federation.context, site: $0)) })
        for name in names {
            _ = try server.receiveAdvertisement(try sessions[name]!.advertisement(sign: federation.sign(name)), from: name,
                                                certificatePEM: federation.certificates[name]!, now: 0, verify: federation.verify)
        }
        for name in names {
            let step = server.step(for: name)
            XCTAssertEqual(step.step, .shareKeys)
            let shares = try sessions[name]!.shareKeys(advertisements: step.advertisements, threshold: Int(step.threshold), parameters: settings, verify: federation.verify)
            _ = try server.receiveShares(shares, from: name, now: 0)
        }
        return (sessions, server)
    }

    func testShareForAnotherRoundDoesNotOpenAndLowThresholdIsRefused() throws {
        let federation = Federation()
        let (sessions, server) = try sharedRound(federation)
        // A share sealed in this round, delivered to a session of the next round with the same name, does not open.
        let step = server.step(for: "site-a")
        XCTAssertEqual(step.step, .maskedInput)
        var nextRound = federation.context
        nextRound.round += 1
        var stranger = SecAggSiteSession(context: nextRound, site: "site-a")
        var words = [UInt32](repeating: 0, count: 5)
        XCTAssertThrowsError(try stranger.mask(&words, shareSenders: step.shareSenders, inbound: step.inboundShares))
        // A coordinator asking for threshold 1 is refused by an honest site.
        let names = ["site-a", "site-b", "site-c"]
        var fresh = Dictionary(uniqueKeysWithValues: names.map { ($0, SecAggSiteSession(context: federation.context, site: $0)) })
        let signed = try names.map { name in
            var entry = Fedct_V1_SignedAdvertisement()
            entry.advertisement = try fresh[name]!.advertisement(sign: federation.sign(name))
            entry.certificatePem = federation.certificates[name]!
            return entry
        }
        XCTAssertThrowsError(try fresh["site-a"]!.shareKeys(advertisements: signed, threshold: 1, parameters: settings, verify: federation.verify)) {
            XCTAssertTrue("\($0)".contains("the job's parameters give 2"), "\($0)")
        }
        XCTAssertNoThrow(try fresh["site-a"]!.shareKeys(advertisements: signed, threshold: 2, parameters: settings, verify: federation.verify))
        // A key list from which this site's own advertisement was swapped out is refused.
        var swapped = signed
        swapped[1].advertisement = try SecAggSiteSession(context: federation.context, site: "site-b").advertisement(sign: federation.sign("site-b"))
        XCTAssertThrowsError(try fresh["site-b"]!.shareKeys(advertisements: swapped, threshold: 2, parameters: settings, verify: federation.verify)) {
            XCTAssertTrue("\($0)".contains("own advertisement"), "\($0)")
        }
        _ = sessions
    }

    func testWrongLengthMaskedInputIsRefusedAndNoSiteRevealsBothShares() throws {
        let federation = Federation()
        var (sessions, server) = try sharedRound(federation)
        var sum = MaskedSum(wordCount: 9)
        try sum.begin(site: "site-a")
        let short = [UInt32](repeating: 1, count: 8)
        try short.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
        XCTAssertThrowsError(try sum.end()) { XCTAssertTrue("\($0)".contains("has 8 words; this round needs 9"), "\($0)") }

        for name in ["site-a", "site-b"] {
            var words = [UInt32](repeating: 1, count: 9)
            let step = server.step(for: name)
            try sessions[name]!.mask(&words, shareSenders: step.shareSenders, inbound: step.inboundShares)
            try server.maskedInputAccepted(from: name)
        }
        XCTAssertThrowsError(try server.maskedInputAccepted(from: "site-a")) { XCTAssertTrue("\($0)".contains("twice"), "\($0)") }
        _ = server.closeMasking(now: 1)
        XCTAssertEqual(server.survivors, ["site-a", "site-b"])
        let revealed = try sessions["site-a"]!.unmask(survivors: server.survivors)
        XCTAssertEqual(revealed.first { $0.owner == "site-c" }?.kind, .maskKey)
        XCTAssertEqual(revealed.filter { $0.owner == "site-a" || $0.owner == "site-b" }.map(\.kind), [.selfMaskSeed, .selfMaskSeed])
        // Asked again with c counted as a survivor: refused, so c's seed share is never revealed next to its mask-key share.
        XCTAssertThrowsError(try sessions["site-a"]!.unmask(survivors: ["site-a", "site-b", "site-c"]))
        // A survivor list that omits the asking site, or falls below the threshold, is refused.
        XCTAssertThrowsError(try sessions["site-b"]!.unmask(survivors: ["site-a"]))
        // The coordinator refuses a share of the wrong kind.
        var wrongKind = try sessions["site-b"]!.unmask(survivors: server.survivors)
        wrongKind[0].kind = wrongKind[0].kind == .maskKey ? .selfMaskSeed : .maskKey
        XCTAssertThrowsError(try server.receiveUnmask(wrongKind, from: "site-b", now: 1))
    }
}

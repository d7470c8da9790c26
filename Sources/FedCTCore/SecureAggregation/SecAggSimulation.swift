// SecAggSimulation: runs the real secure-aggregation state machines and crypto for n sites in one process, with dropouts.
import Crypto
import FedCTProto
import Foundation
import SwiftProtobuf

/// One process plays the coordinator and every site of a secure-aggregation round, passing the
/// real messages between the real state machines (no network). Used by `fedctl simulate secagg`,
/// the benchmark and the tests; sites can drop out before any step.
public struct SecAggSimulation {
    /// The step a dropping site never performs (it disappears right before it).
    public enum DropPoint: String, CaseIterable, Sendable {
        case advertise, share, mask, unmask
    }

    public struct Report: Sendable {
        public var sites: Int
        public var coordinates: Int
        public var threshold: Int
        /// Neighbours per site (sites − 1 when everyone shares with everyone).
        public var degree: Int
        public var dropped: [String: DropPoint]
        public var survivors: [String]
        /// Seconds one site spent per step (mean over the sites that performed it).
        public var siteSeconds: [(step: String, seconds: Double)]
        /// Seconds the coordinator spent per step (summing masked inputs, rebuilding and removing masks, decoding).
        public var coordinatorSeconds: [(step: String, seconds: Double)]
        /// Seconds the plain (unmasked, float) weighted sum of the same inputs takes: the baseline.
        public var plainAggregationSeconds: Double
        /// Bytes one site sends: advertisement, sealed shares, masked input, revealed shares.
        public var bytesPerSite: Int
        public var float32Bytes: Int
        /// Whether the unmasked sum equals the sum of the survivors' encoded (unmasked) words exactly.
        public var sumIsExact: Bool
        /// Largest |decoded mean − exact weighted mean of the clipped inputs| over the coordinates.
        public var maxAbsoluteError: Double
        /// The documented bound n / (scale · Σw) on that error.
        public var errorBound: Double
        /// Keystream bytes per second one core generates when masking (ChaCha20).
        public var maskBytesPerSecond: Double
    }

    public var settings: SecAggParameters
    public var clipNorm: Double
    public var maxWeight: Int64

    public init(settings: SecAggParameters, clipNorm: Double, maxWeight: Int64) {
        self.settings = settings
        self.clipNorm = clipNorm
        self.maxWeight = maxWeight
    }

    /// Runs one round on `inputs` (site name → (update, weight)); throws what the protocol throws (e.g. an abort).
    public func run(inputs: [String: (update: [Float], weight: Int64)], dropouts: [String: DropPoint]) throws -> Report {
        let names = inputs.keys.sorted()
        let context = SecAggContext(jobID: "simulation", round: 1, binding: String(repeating: "0", count: 64))
        let keys = Dictionary(uniqueKeysWithValues: names.map { ($0, P256.Signing.PrivateKey()) })
        let directory = Dictionary(uniqueKeysWithValues: names.map { ($0, keys[$0]!.publicKey.pemRepresentation) })
        let verify: SecAggSiteSession.Verifier = { certificate, site, message, signature in
            guard directory[site] == certificate,
                  let key = try? P256.Signing.PublicKey(pemRepresentation: certificate),
                  let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature),
                  key.isValidSignature(parsed, for: message)
            else { throw FedCTError(.permissionDenied, "simulation: \(site)'s advertisement signature does not verify") }
        }
        var clock = Clock()
        var server = SecAggServerRound(context: context, participants: names, settings: settings, now: 0)
        var sessions = Dictionary(uniqueKeysWithValues: names.map { ($0, SecAggSiteSession(context: context, site: $0)) })
        var bytes = [String: Int]()
        let alive = { (site: String, step: DropPoint) in dropouts[site] != step && !Self.droppedBefore(dropouts[site], step) }

        for site in names where alive(site, .advertise) {
            let advertisement = try clock.site("advertise") { try sessions[site]!.advertisement { Array(try keys[site]!.signature(for: $0).derRepresentation) } }
            bytes[site, default: 0] += try Self.size(advertisement)
            _ = try clock.coordinator("relay keys and shares") {
                try server.receiveAdvertisement(advertisement, from: site, certificatePEM: directory[site]!, now: 0, verify: verify)
            }
        }
        // A step closes when every site answered, or at its timeout T with those that did.
        let timeout = settings.stepTimeout
        if server.phase == .advertising { try check(server.tick(now: timeout)) }
        for site in names where alive(site, .share) && server.keyHolders.contains(site) {
            let step = server.step(for: site)
            let shares = try clock.site("share keys") {
                try sessions[site]!.shareKeys(advertisements: step.advertisements, threshold: Int(step.threshold), parameters: settings, verify: verify)
            }
            var request = Fedct_V1_ShareKeysRequest()
            request.shares = shares
            bytes[site, default: 0] += try Self.size(request)
            try check(clock.coordinator("relay keys and shares") { try server.receiveShares(shares, from: site, now: timeout) })
        }
        if server.phase == .sharing { try check(server.tick(now: 2 * timeout)) }

        let encoding = try FixedPointEncoding(clipNorm: clipNorm, maxWeight: maxWeight, sites: server.keyHolders.count)
        let wordCount = (inputs.values.first?.update.count ?? 0) + 1
        var sum = MaskedSum(wordCount: wordCount)
        var unmaskedWords = [UInt32](repeating: 0, count: wordCount)
        var maskSeconds = 0.0
        var maskingSites = 0
        for site in server.shareSenders where alive(site, .mask) {
            let step = server.step(for: site)
            var words = try clock.site("encode update") { try encoding.encode(inputs[site]!.update, weight: inputs[site]!.weight) }
            for index in words.indices { unmaskedWords[index] &+= words[index] }
            let started = Date()
            try clock.site("mask update") { try sessions[site]!.mask(&words, shareSenders: step.shareSenders, inbound: step.inboundShares) }
            maskSeconds += Date().timeIntervalSince(started)
            maskingSites += 1
            bytes[site, default: 0] += words.count * 4
            try clock.coordinator("sum masked inputs") {
                try server.checkMaskedInput(from: site)
                try sum.begin(site: site)
                try words.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
                try sum.end()
                try server.maskedInputAccepted(from: site)
            }
        }
        try check(server.closeMasking(now: 2 * timeout))
        for site in server.survivors where alive(site, .unmask) {
            let step = server.step(for: site)
            let shares = try clock.site("unmask") { try sessions[site]!.unmask(survivors: step.survivors) }
            var request = Fedct_V1_UnmaskRequest()
            request.shares = shares
            bytes[site, default: 0] += try Self.size(request)
            try check(clock.coordinator("relay keys and shares") { try server.receiveUnmask(shares, from: site, now: 2 * timeout) })
        }
        if server.phase == .unmasking { try check(server.tick(now: 3 * timeout)) }
        let plain = try clock.coordinator("rebuild secrets and remove masks") { try sum.unmasked(with: try server.recovery()) }
        let decoded = try clock.coordinator("decode") { try encoding.decode(sum: plain) }

        let (expected, plainSeconds) = Self.plainWeightedMean(of: server.survivors.map { inputs[$0]! }, encoding: encoding)
        var maxError = 0.0
        for (a, b) in zip(decoded.mean, expected) { maxError = max(maxError, abs(Double(a) - b)) }
        let totalWeight = Double(decoded.weight)
        // Per-site keystream: the self mask plus one pairwise mask per neighbour that shared keys.
        let keystreamPerSite = Double(wordCount * 4 * (min(server.graph?.degree ?? 0, server.shareSenders.count - 1) + 1))
        return Report(
            sites: names.count, coordinates: wordCount - 1, threshold: server.threshold, degree: server.graph?.degree ?? 0, dropped: dropouts, survivors: server.survivors,
            siteSeconds: clock.siteSteps.map { ($0.step, $0.seconds / Double(max(1, $0.count))) },
            coordinatorSeconds: clock.coordinatorSteps.map { ($0.step, $0.seconds) },
            plainAggregationSeconds: plainSeconds,
            bytesPerSite: bytes.values.max() ?? 0, float32Bytes: (wordCount - 1) * 4,
            sumIsExact: plain == unmaskedWords, maxAbsoluteError: maxError, errorBound: Double(server.survivors.count) / (encoding.scale * totalWeight),
            maskBytesPerSecond: maskSeconds > 0 ? keystreamPerSite * Double(maskingSites) / maskSeconds : 0)
    }

    /// Σ wᵢ clip(Δᵢ) / Σ wᵢ in double precision, and how long that plain weighted sum took.
    static func plainWeightedMean(of inputs: [(update: [Float], weight: Int64)], encoding: FixedPointEncoding) -> ([Double], Double) {
        let started = Date()
        var sum = [Double](repeating: 0, count: inputs.first?.update.count ?? 0)
        var total = 0.0
        for input in inputs {
            let factor = encoding.clipFactor(input.update).factor * Double(input.weight)
            sum.withUnsafeMutableBufferPointer { target in
                input.update.withUnsafeBufferPointer { source in
                    for index in source.indices { target[index] += factor * Double(source[index]) }
                }
            }
            total += Double(input.weight)
        }
        let mean = sum.map { $0 / total }
        return (mean, Date().timeIntervalSince(started))
    }

    static func size(_ message: some SwiftProtobuf.Message) throws -> Int {
        (try message.serializedBytes() as [UInt8]).count
    }

    static func droppedBefore(_ drop: DropPoint?, _ step: DropPoint) -> Bool {
        guard let drop else { return false }
        let order = DropPoint.allCases
        return order.firstIndex(of: drop)! < order.firstIndex(of: step)!
    }

    private func check(_ actions: [SecAggServerRound.Action]) throws {
        for case .abort(let reason) in actions { throw FedCTError(.failedPrecondition, reason) }
    }

    /// Wall time per named step, for the sites (summed, with counts) and for the coordinator.
    struct Clock {
        var siteSteps: [(step: String, seconds: Double, count: Int)] = []
        var coordinatorSteps: [(step: String, seconds: Double)] = []

        mutating func site<T>(_ step: String, _ body: () throws -> T) throws -> T {
            let started = Date()
            let result = try body()
            let seconds = Date().timeIntervalSince(started)
            if let index = siteSteps.firstIndex(where: { $0.step == step }) {
                siteSteps[index].seconds += seconds
                siteSteps[index].count += 1
            } else {
                siteSteps.append((step, seconds, 1))
            }
            return result
        }

        mutating func coordinator<T>(_ step: String, _ body: () throws -> T) throws -> T {
            let started = Date()
            let result = try body()
            let seconds = Date().timeIntervalSince(started)
            if let index = coordinatorSteps.firstIndex(where: { $0.step == step }) {
                coordinatorSteps[index].seconds += seconds
            } else {
                coordinatorSteps.append((step, seconds))
            }
            return result
        }
    }
}

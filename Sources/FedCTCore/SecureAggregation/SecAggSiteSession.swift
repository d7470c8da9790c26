// SecAggSiteSession: one site's side of a secure-aggregation round (Bonawitz et al. 2017) as a pure value.
import Crypto
public import FedCTProto
import Foundation

/// A site's secure-aggregation session for one round: fresh keys, verified peers, sealed shares,
/// the masked input and the unmasking answer. It performs no I/O; the site agent carries its
/// messages. Every check an honest site must make is here: peers' signatures and certificates,
/// the round binding, the threshold, and never revealing both shares of one peer.
public struct SecAggSiteSession: Sendable {
    /// Signs the canonical bytes of an advertisement with the site's certificate key.
    public typealias Signer = @Sendable ([UInt8]) throws -> [UInt8]
    /// Checks that `certificatePEM` was issued by the consortium to `site`, and that `signature` over `message` is its key's.
    public typealias Verifier = @Sendable (_ certificatePEM: String, _ site: String, _ message: [UInt8], _ signature: [UInt8]) throws -> Void

    struct Peer: Sendable {
        var x: UInt64
        var shareKey: Curve25519.KeyAgreement.PublicKey
        var maskKey: Curve25519.KeyAgreement.PublicKey
    }

    public enum Stage: Sendable, Equatable { case advertised, shared, masked, unmasked }

    public let context: SecAggContext
    public let site: String
    public private(set) var stage: Stage = .advertised
    public var threshold: Int { graph?.threshold ?? 0 }
    /// U1: the sites whose advertised keys this site verified.
    public var keyHolders: [String] { peers.keys.sorted() }
    /// Who shares with whom in this session (everyone, or SecAgg+'s sparse graph).
    public private(set) var graph: SecAggGraph?
    private var minCohort = 2
    private let shareKey: Curve25519.KeyAgreement.PrivateKey
    private let maskKey: Curve25519.KeyAgreement.PrivateKey
    private let selfMaskSeed: [UInt8]
    private var peers: [String: Peer] = [:]
    private var ownShares: (mask: ShamirShare, seed: ShamirShare)?
    private var received: [String: (mask: ShamirShare, seed: ShamirShare)] = [:]
    private var senders: [String] = []

    /// Fresh X25519 key pairs and self-mask seed for `context`.
    public init(context: SecAggContext, site: String) {
        self.context = context
        self.site = site
        self.shareKey = Curve25519.KeyAgreement.PrivateKey()
        self.maskKey = Curve25519.KeyAgreement.PrivateKey()
        self.selfMaskSeed = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    // MARK: Step 0 — AdvertiseKeys

    /// The signed advertisement of this session's public keys.
    public func advertisement(sign: Signer) throws -> Fedct_V1_KeyAdvertisement {
        var advertisement = unsignedAdvertisement()
        advertisement.signature = Data(try sign(advertisement.signedBytes))
        return advertisement
    }

    private func unsignedAdvertisement() -> Fedct_V1_KeyAdvertisement {
        var advertisement = Fedct_V1_KeyAdvertisement()
        advertisement.jobID = context.jobID
        advertisement.round = Int32(context.round)
        advertisement.bindingSha256 = context.binding
        advertisement.attempt = Int32(context.attempt)
        advertisement.site = site
        advertisement.sharePublicKey = shareKey.publicKey.rawRepresentation
        advertisement.maskPublicKey = maskKey.publicKey.rawRepresentation
        advertisement.selfMaskCommitment = Data(context.selfMaskCommitment(seed: selfMaskSeed))
        return advertisement
    }

    // MARK: Step 1 — ShareKeys

    /// Verifies the advertised keys of U1, derives the session's graph and threshold from the job's
    /// `parameters` (refusing a coordinator's threshold that differs), and returns this site's shares
    /// for each neighbour, sealed to it.
    public mutating func shareKeys(
        advertisements: [Fedct_V1_SignedAdvertisement], threshold: Int, parameters: SecAggParameters, verify: Verifier
    ) throws -> [Fedct_V1_EncryptedShare] {
        guard stage == .advertised else { throw violation("keys to share arrived twice") }
        var verified: [String: Fedct_V1_KeyAdvertisement] = [:]
        for signed in advertisements {
            let advertisement = signed.advertisement
            let name = advertisement.site
            guard verified[name] == nil else { throw violation("\(name) advertised keys twice") }
            try SecAggSiteSession.checkBinding(advertisement, to: context)
            try verify(signed.certificatePem, name, advertisement.signedBytes, Array(advertisement.signature))
            verified[name] = advertisement
        }
        guard let own = verified[site], own.signedBytes == unsignedAdvertisement().signedBytes else {
            throw violation("the key list does not carry this site's own advertisement unchanged")
        }
        let members = verified.keys.sorted()
        guard members.count >= parameters.minCohort else {
            throw violation("only \(members.count) sites hold keys; the job's minimum cohort is \(parameters.minCohort)")
        }
        let graph = try SecAggGraph(members: members, parameters: parameters,
                                    seed: SecAggGraph.seed(advertisements: members.map { verified[$0]!.signedBytes + Array(verified[$0]!.signature) }))
        guard threshold == graph.threshold else {
            throw violation("the coordinator asks for threshold \(threshold); the job's parameters give \(graph.threshold) for \(members.count) sites (degree \(graph.degree))")
        }
        for (index, name) in members.enumerated() {
            let advertisement = verified[name]!
            do {
                peers[name] = Peer(x: UInt64(index + 1),
                                   shareKey: try .init(rawRepresentation: advertisement.sharePublicKey),
                                   maskKey: try .init(rawRepresentation: advertisement.maskPublicKey))
            } catch {
                throw violation("\(name) advertised a malformed X25519 key")
            }
        }
        self.graph = graph
        self.minCohort = parameters.minCohort
        var random = SystemRandomNumberGenerator()
        let holders = ([site] + graph.neighbours(of: site)).sorted()
        let xs = holders.map { peers[$0]!.x }
        let maskShares = try ShamirSecretSharing.split(maskKey.rawRepresentation.map { $0 }, threshold: threshold, xs: xs, using: &random)
        let seedShares = try ShamirSecretSharing.split(selfMaskSeed, threshold: threshold, xs: xs, using: &random)
        var sealed: [Fedct_V1_EncryptedShare] = []
        for (index, name) in holders.enumerated() {
            if name == site {
                ownShares = (maskShares[index], seedShares[index])
                continue
            }
            let key = try context.shareEncryptionKey(shareKey, peers[name]!.shareKey, from: site, to: name)
            let plaintext = Self.encodeSharePair(mask: maskShares[index], seed: seedShares[index])
            var share = Fedct_V1_EncryptedShare()
            share.fromSite = site
            share.toSite = name
            share.ciphertext = try ChaChaPoly.seal(plaintext, using: key, authenticating: context.shareAAD(from: site, to: name)).combined
            sealed.append(share)
        }
        stage = .shared
        return sealed
    }

    // MARK: Step 2 — MaskedInput

    /// Masks an encoded update in place: y = x + PRG(b) + Σ_{v ∈ U2 ∩ N(u)} ±PRG(k_uv), opening the
    /// shares addressed to this site first. `shareSenders` is U2.
    public mutating func mask(_ encoded: inout [UInt32], shareSenders: [String], inbound: [Fedct_V1_EncryptedShare]) throws {
        guard stage == .shared, let graph else { throw violation("asked to mask before sharing keys, or twice") }
        let senderSet = Set(shareSenders)
        guard senderSet.count == shareSenders.count, senderSet.isSubset(of: peers.keys), senderSet.contains(site) else {
            throw violation("the share senders are not a subset of the advertised sites including this one")
        }
        // Only neighbours' shares come here; this site's seed is recoverable only if t of its neighbourhood shared.
        let members = senderSet.intersection(graph.neighbours(of: site).union([site]))
        guard members.count >= threshold, senderSet.count >= minCohort else {
            throw violation("only \(members.count) of this site's neighbourhood shared keys; the threshold is \(threshold)")
        }
        for share in inbound {
            guard share.toSite == site, members.contains(share.fromSite), share.fromSite != site else {
                throw violation("a share from \(share.fromSite) to \(share.toSite) was delivered to \(site)")
            }
            guard received[share.fromSite] == nil else { throw violation("two shares from \(share.fromSite)") }
            let key = try context.shareEncryptionKey(shareKey, peers[share.fromSite]!.shareKey, from: share.fromSite, to: site)
            let plaintext: Data
            do {
                plaintext = try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: share.ciphertext), using: key,
                                                authenticating: context.shareAAD(from: share.fromSite, to: site))
            } catch {
                throw violation("the share from \(share.fromSite) does not open (wrong round, wrong keys or altered in transit)")
            }
            received[share.fromSite] = try Self.decodeSharePair(Array(plaintext), x: peers[site]!.x, from: share.fromSite)
        }
        let missing = members.subtracting(received.keys).subtracting([site])
        guard missing.isEmpty else { throw violation("no share from \(missing.sorted().joined(separator: ", "))") }
        senders = members.sorted()
        try encoded.withUnsafeMutableBufferPointer { words in
            try MaskExpansion(key: context.selfMaskKey(seed: selfMaskSeed)).apply(.add, to: words)
            for peer in senders where peer != site {
                let key = try context.pairwiseMaskKey(maskKey, peers[peer]!.maskKey, between: site, peer)
                try MaskExpansion(key: key).apply(site < peer ? .add : .subtract, to: words)
            }
        }
        stage = .masked
    }

    // MARK: Step 3 — Unmasking

    /// The shares this site reveals once the coordinator names the survivors U3: for its neighbourhood
    /// in U2, self-mask seed shares of survivors and mask-key shares of dropped sites — never both kinds
    /// for one site. Refused when the survivors are too few, or split into parts the masks would reveal
    /// separately.
    public mutating func unmask(survivors: [String]) throws -> [Fedct_V1_RevealedShare] {
        guard stage == .masked, let graph else { throw violation("asked to unmask before sending a masked input, or twice") }
        let survivorSet = Set(survivors)
        guard survivorSet.count == survivors.count, survivorSet.isSubset(of: peers.keys), survivorSet.contains(site),
              survivorSet.intersection(graph.neighbours(of: site).union([site])).isSubset(of: senders)
        else { throw violation("the survivors are not a subset of the share senders including this site") }
        guard survivorSet.count >= max(minCohort, graph.isComplete ? threshold : 1) else {
            throw violation("only \(survivorSet.count) sites survived; at least \(max(minCohort, threshold)) are needed, so nothing is revealed")
        }
        guard graph.isConnected(survivorSet) else {
            throw violation("the survivors do not form a connected graph, so unmasking would reveal partial sums; nothing is revealed")
        }
        var shares = received
        shares[site] = ownShares
        var revealed: [Fedct_V1_RevealedShare] = []
        for owner in senders {
            guard let pair = shares[owner] else { continue }
            let isSurvivor = survivorSet.contains(owner)
            var share = Fedct_V1_RevealedShare()
            share.owner = owner
            share.kind = isSurvivor ? .selfMaskSeed : .maskKey
            let chosen = isSurvivor ? pair.seed : pair.mask
            share.x = chosen.x
            share.limbs = chosen.limbs.map(\.value)
            revealed.append(share)
        }
        stage = .unmasked
        return revealed
    }

    // MARK: Helpers

    /// Rejects an advertisement for another job, round or model (a replay or a model swap).
    static func checkBinding(_ advertisement: Fedct_V1_KeyAdvertisement, to context: SecAggContext) throws {
        let theirs = SecAggContext(jobID: advertisement.jobID, round: Int(advertisement.round),
                                   binding: advertisement.bindingSha256, attempt: Int(advertisement.attempt))
        guard theirs == context else {
            throw FedCTError(.protocolViolation, "secure aggregation: \(advertisement.site)'s key advertisement is for \(theirs), not \(context) (replayed or the model differs)")
        }
    }

    private func violation(_ message: String) -> FedCTError {
        FedCTError(.protocolViolation, "secure aggregation (\(context), \(site)): \(message)")
    }

    /// x, then the mask-key limbs, then the seed limbs, each a big-endian UInt64.
    static func encodeSharePair(mask: ShamirShare, seed: ShamirShare) -> [UInt8] {
        var out: [UInt8] = []
        for value in [mask.x] + mask.limbs.map(\.value) + seed.limbs.map(\.value) {
            withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    static func decodeSharePair(_ bytes: [UInt8], x expected: UInt64, from sender: String) throws -> (mask: ShamirShare, seed: ShamirShare) {
        let limbs = ShamirSecretSharing.limbCount
        guard bytes.count == 8 * (1 + 2 * limbs) else {
            throw FedCTError(.protocolViolation, "secure aggregation: the share from \(sender) has \(bytes.count) bytes")
        }
        let values = (0..<(1 + 2 * limbs)).map { index in
            bytes[(index * 8)..<(index * 8 + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        guard values[0] == expected else {
            throw FedCTError(.protocolViolation, "secure aggregation: the share from \(sender) is for point \(values[0]), not this site's \(expected)")
        }
        return (ShamirShare(x: expected, limbs: values[1...limbs].map(FieldElement.init)),
                ShamirShare(x: expected, limbs: values[(limbs + 1)...].map(FieldElement.init)))
    }
}

extension Fedct_V1_KeyAdvertisement {
    /// The canonical bytes the signature covers: every field but the signature, length-prefixed.
    public var signedBytes: [UInt8] {
        SecAggContext.encode([Array("fedct/secagg/v1/advertisement".utf8), Array(jobID.utf8), Array("\(round)".utf8),
                              Array("\(attempt)".utf8), Array(bindingSha256.utf8), Array(site.utf8), Array(sharePublicKey), Array(maskPublicKey),
                              Array(selfMaskCommitment)])
    }
}

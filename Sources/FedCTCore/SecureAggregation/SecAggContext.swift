// SecAggContext: what one secure-aggregation session is bound to, and the key derivations and sealing it uses.
import Crypto
import Foundation

/// The (job, step, binding) a secure-aggregation session belongs to. Every signature, key derivation and
/// ciphertext is bound to it, so nothing from one round or setup step can be replayed in another and a coordinator
/// that hands different models (or code lists) to different sites is detected.
public struct SecAggContext: Hashable, Sendable, CustomStringConvertible {
    public var jobID: String
    /// The step's number on the wire (`JobStep.wireRound`): a training round from 1, a setup step 0, −1, −2.
    public var round: Int
    /// What the summed inputs were computed from: the global model's SHA-256 for a training round, the published
    /// code list's (`TaskSetupStage.listSHA256`) for a setup step.
    public var binding: String
    /// A restarted round is a new session: fresh keys, nothing from the failed attempt accepted.
    public var attempt: Int

    public init(jobID: String, round: Int, binding: String, attempt: Int = 1) {
        self.jobID = jobID
        self.round = round
        self.binding = binding
        self.attempt = attempt
    }

    public var description: String {
        "job \(jobID) round \(round) attempt \(attempt) (bound to \(binding.prefix(12)))"
    }

    /// Canonical bytes: a domain label and each field length-prefixed.
    public var bytes: [UInt8] { Self.encode(["fedct/secagg/v1", jobID, "\(round)", "\(attempt)", binding]) }

    /// Length-prefixed concatenation (4-byte big-endian length, then the bytes), unambiguous for any strings.
    static func encode(_ fields: [String]) -> [UInt8] {
        encode(fields.map { Array($0.utf8) })
    }

    static func encode(_ fields: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            withUnsafeBytes(of: UInt32(field.count).bigEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: field)
        }
        return out
    }

    // MARK: Derivations

    /// The 256-bit key of one mask, from a secret and a purpose (HKDF-SHA256, RFC 5869, salted with the context).
    func derive(_ secret: some ContiguousBytes, purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: bytes,
                               info: Array(purpose.utf8), outputByteCount: 32)
    }

    /// The pairwise mask key of two sites: both derive it from X25519 of their own private and the other's public mask key.
    func pairwiseMaskKey(_ own: Curve25519.KeyAgreement.PrivateKey, _ peer: Curve25519.KeyAgreement.PublicKey,
                         between a: String, _ b: String) throws -> SymmetricKey {
        let shared = try own.sharedSecretFromKeyAgreement(with: peer)
        let (low, high) = a < b ? (a, b) : (b, a)
        return shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: bytes,
                                              sharedInfo: Self.encode(["pairwise-mask", low, high]), outputByteCount: 32)
    }

    /// The key sealing shares from `sender` to `recipient` (X25519 of their share-encryption keys).
    func shareEncryptionKey(_ own: Curve25519.KeyAgreement.PrivateKey, _ peer: Curve25519.KeyAgreement.PublicKey,
                            from sender: String, to recipient: String) throws -> SymmetricKey {
        let shared = try own.sharedSecretFromKeyAgreement(with: peer)
        return shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: bytes,
                                              sharedInfo: Self.encode(["share-encryption", sender, recipient]), outputByteCount: 32)
    }

    /// The self-mask key expanded from a site's seed b.
    func selfMaskKey(seed: [UInt8]) -> SymmetricKey { derive(seed, purpose: "self-mask") }

    /// SHA-256 of the context and a self-mask seed: published with the keys, checked when the seed is rebuilt.
    func selfMaskCommitment(seed: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes + seed))
    }

    /// Additional authenticated data of a sealed share.
    func shareAAD(from sender: String, to recipient: String) -> [UInt8] {
        bytes + Self.encode(["share", sender, recipient])
    }
}

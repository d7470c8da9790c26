// SigningCertificateVerifier: checks a participant certificate against the consortium CA at a given time and returns its signing key.
public import Crypto
import Foundation
import SwiftASN1
import X509

/// Verifies offline that a certificate was issued by the consortium CA to a participant of a given role and was valid
/// at a given time, and checks ECDSA P-256 signatures made with its key (egress-ledger entries, coordinator receipts).
public struct SigningCertificateVerifier: Sendable {
    private let authorityKey: Certificate.PublicKey

    /// Reads the consortium CA certificate; `source` (its path) is named in errors.
    public init(caCertificatePEM: String, source: String) throws {
        do {
            authorityKey = try Certificate(pemEncoded: caCertificatePEM).publicKey
        } catch {
            throw IdentityError("\(source): not a PEM certificate (\(error)); use the consortium's ca.pem")
        }
    }

    /// The identity and public key of `certificatePEM`, after checking the CA issued it, its role is `role` and it was
    /// valid at `time`. `what` names the certificate in errors (e.g. "the ledger's certificate entry 12").
    public func signingKey(certificatePEM: String, role: ParticipantRole, at time: Date, what: String) throws -> (identity: ParticipantIdentity, key: P256.Signing.PublicKey) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw IdentityError("\(what) is not a readable PEM certificate (\(error))")
        }
        guard authorityKey.isValidSignature(certificate.signature, for: certificate) else {
            throw IdentityError("\(what) was not issued by this consortium's CA")
        }
        guard certificate.notValidBefore <= time, time <= certificate.notValidAfter else {
            throw IdentityError("\(what) was not valid at \(time) (valid \(certificate.notValidBefore) – \(certificate.notValidAfter))")
        }
        let identity = try ParticipantIdentity(certificate: certificate)
        guard identity.role == role else {
            throw IdentityError("\(what) belongs to \(identity), not to a \(role.rawValue)")
        }
        guard let key = P256.Signing.PublicKey(certificate.publicKey) else {
            throw IdentityError("\(what) does not carry an ECDSA P-256 key")
        }
        return (identity, key)
    }

    /// Whether `signature` (DER) is `key`'s ECDSA P-256 signature of `message`.
    public static func isValid(signature: [UInt8], of message: some DataProtocol, by key: P256.Signing.PublicKey) -> Bool {
        guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return key.isValidSignature(parsed, for: message)
    }
}

// AdvertisementSignatures: signs secure-aggregation key advertisements and setup candidate lists with a participant's certificate key and verifies peers' against the CA.
import Crypto
import Foundation
import SwiftASN1
import X509

/// Signs bytes with a participant's ECDSA P-256 certificate key (DER signatures).
public struct CertificateKeySigner: Sendable {
    private let key: P256.Signing.PrivateKey

    public init(privateKeyPEM: String, source: String) throws {
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw IdentityError("\(source): not an ECDSA P-256 private key in PEM (\(error)); use the key.pem of the start-up kit")
        }
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: message).derRepresentation)
    }
}

/// Verifies that a certificate was issued by the consortium CA to a given site, and that a signature is its key's.
public struct ConsortiumSignatureVerifier: Sendable {
    private let authorityKey: Certificate.PublicKey

    public init(caCertificatePEM: String, source: String) throws {
        do {
            authorityKey = try Certificate(pemEncoded: caCertificatePEM).publicKey
        } catch {
            throw IdentityError("\(source): not a PEM certificate (\(error)); use the ca.pem of the start-up kit")
        }
    }

    /// Throws unless `certificatePEM` is a site certificate for `site` signed by the CA, valid now, whose key signed `message`;
    /// errors call the signed message `what`.
    public func verify(certificatePEM: String, site: String, message: [UInt8], signature: [UInt8], now: Date = Date(),
                       what: String = "key advertisement") throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw IdentityError("\(site)'s certificate in its \(what) is unreadable (\(error))")
        }
        guard authorityKey.isValidSignature(certificate.signature, for: certificate) else {
            throw IdentityError("\(site)'s certificate was not issued by this consortium's CA; its \(what) is refused")
        }
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            throw IdentityError("\(site)'s certificate is not valid now (\(certificate.notValidBefore) – \(certificate.notValidAfter))")
        }
        let identity = try ParticipantIdentity(certificate: certificate)
        guard identity.role == .site, identity.name == site else {
            throw IdentityError("a \(what) for \(site) carries the certificate of \(identity); it is refused")
        }
        guard let key = P256.Signing.PublicKey(certificate.publicKey),
              let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature),
              key.isValidSignature(parsed, for: message)
        else { throw IdentityError("\(site)'s \(what) is not signed by its certificate key; it is refused (forged or altered)") }
    }
}

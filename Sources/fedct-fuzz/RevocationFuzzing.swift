// RevocationFuzzing: the signed revocation list as the coordinator reads it — the envelope, and a payload that verifies.
import Crypto
import FedCTIdentity
import Foundation
import X509

/// The first byte picks the mode: even, the input is the list file as it is; odd, the rest is a payload that this
/// target signs with its own CA, so the payload's decoding is reached past the signature check.
enum RevocationFuzzing {
    /// The CA made once per process; its key signs the payloads of odd inputs.
    private static let authority: (certificate: Certificate, key: P256.Signing.PrivateKey) = {
        let made = try! ConsortiumAuthority(consortium: "fuzz")
        return (made.certificate, try! P256.Signing.PrivateKey(pemRepresentation: made.privateKeyPEM))
    }()

    private struct Envelope: Encodable {
        let payload: String
        let signature: String
    }

    static func run(_: FuzzScratch, _ input: [UInt8]) throws {
        guard let mode = input.first else { return }
        let rest = Data(input.dropFirst())
        guard mode % 2 == 1 else {
            _ = try RevocationList(verifying: rest, caCertificate: authority.certificate)
            return
        }
        let payload = String(decoding: rest, as: UTF8.self)
        let signature = try authority.key.signature(for: SHA256.hash(data: Data(payload.utf8)))
        let envelope = try JSONEncoder().encode(Envelope(payload: payload, signature: signature.derRepresentation.base64EncodedString()))
        _ = try RevocationList(verifying: envelope, caCertificate: authority.certificate)
    }
}

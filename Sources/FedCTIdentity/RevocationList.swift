// RevocationList: the consortium's CA-signed list of revoked certificate serials (signed JSON; swift-certificates cannot build X.509 CRLs).
import Crypto
import FedCTCore
import Foundation
public import X509

/// One revoked certificate.
public struct RevokedCertificate: Sendable, Codable, Equatable {
    /// The certificate's serial number in ``RevocationList/normalizedSerial(_:)`` notation.
    public var serial: String
    /// The participant the certificate named, when known.
    public var name: String?
    /// The role the certificate granted, when known.
    public var role: String?
    public var reason: String?
    public var revokedAt: Date

    public init(serial: String, name: String? = nil, role: String? = nil, reason: String? = nil, revokedAt: Date = Date()) {
        self.serial = serial
        self.name = name
        self.role = role
        self.reason = reason
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case serial, name, role, reason
        case revokedAt = "revoked_at"
    }
}

/// The serials the consortium CA has revoked, stored as a JSON envelope signed by the CA.
///
/// File layout: `{"payload": "<JSON text>", "signature": "<base64 DER ECDSA P-256/SHA-256 over the payload's UTF-8>"}`,
/// where the payload holds `format`, `issuer`, `updated` and `entries` (serial, name, role, reason, revoked_at).
/// The signature covers the payload bytes exactly as stored, so no canonical re-encoding is needed to verify it.
public struct RevocationList: Sendable, Equatable {
    /// The payload's `format` value.
    public static let format = "fedct-revocation-list/1"
    /// The file name `fedctl provision` and `fedctl provision revoke` use inside the CA folder.
    public static let defaultFileName = "revocation-list.json"

    /// The subject of the CA that signed the list.
    public var issuer: String
    public var updated: Date
    public var entries: [RevokedCertificate]

    /// An empty list for the CA whose subject is `issuer`.
    public init(issuer: String, updated: Date = Date(), entries: [RevokedCertificate] = []) {
        self.issuer = issuer
        self.updated = updated
        self.entries = entries
    }

    /// The entry revoking `serial` (any notation ``normalizedSerial(_:)`` accepts), or nil if it is not revoked.
    public func entry(forSerial serial: String) -> RevokedCertificate? {
        guard let wanted = try? Self.normalizedSerial(serial) else { return nil }
        return entries.first { $0.serial == wanted }
    }

    /// Adds `entry` unless its serial is already revoked; returns whether the list changed.
    @discardableResult
    public mutating func revoke(_ entry: RevokedCertificate, now: Date = Date()) throws -> Bool {
        var entry = entry
        entry.serial = try Self.normalizedSerial(entry.serial)
        guard self.entry(forSerial: entry.serial) == nil else { return false }
        entries.append(entry)
        updated = now
        return true
    }

    // MARK: Serial numbers

    /// A serial number as lowercase hex without separators or leading zeros (`0A:1b` and `0x0a1B` both give `a1b`).
    public static func normalizedSerial(_ text: String) throws -> String {
        var hex = text.lowercased().filter { $0 != ":" && $0 != " " }
        if hex.hasPrefix("0x") { hex.removeFirst(2) }
        guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit) else {
            throw IdentityError("'\(text)' is not a hexadecimal certificate serial number; copy it from `openssl x509 -noout -serial -in cert.pem` or use --cert")
        }
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// The serial number of `certificate` in ``normalizedSerial(_:)`` notation.
    public static func serial(of certificate: Certificate) -> String {
        let hex = certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// The entry revoking the PEM certificate `pem`, which `authority` must have issued; it records the name and role.
    public static func entry(revoking pem: String, issuedBy authority: ConsortiumAuthority, reason: String? = nil, now: Date = Date()) throws -> RevokedCertificate {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            throw IdentityError("not a readable PEM certificate: \(error)")
        }
        guard authority.issued(certificate) else {
            throw IdentityError("the certificate \(certificate.subject) was not issued by this consortium's CA; revoke it with the CA that issued it")
        }
        let identity = try? ParticipantIdentity(certificate: certificate)
        return RevokedCertificate(serial: serial(of: certificate), name: identity?.name, role: identity?.role.rawValue, reason: reason, revokedAt: now)
    }

    // MARK: Signed file

    struct Payload: Codable {
        var format: String
        var issuer: String
        var updated: Date
        var entries: [RevokedCertificate]
    }

    struct Envelope: Codable {
        var payload: String
        var signature: String
    }

    /// The signed file's bytes.
    public func signed(by authority: ConsortiumAuthority) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = Payload(format: Self.format, issuer: issuer, updated: updated, entries: entries)
        let text = String(decoding: try encoder.encode(payload), as: UTF8.self)
        let signature = try authority.signature(for: Data(text.utf8))
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(Envelope(payload: text, signature: signature.base64EncodedString())) + Data("\n".utf8)
    }

    /// Reads a signed list, refusing it unless `caCertificate`'s key signed exactly this payload.
    public init(verifying data: Data, caCertificate: Certificate) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else {
            throw IdentityError("not a FedCT revocation list (expected JSON with \"payload\" and \"signature\"); write it with `fedctl provision revoke`")
        }
        guard let key = P256.Signing.PublicKey(caCertificate.publicKey) else {
            throw IdentityError("the consortium CA certificate does not hold a P-256 key; it was not made by `fedctl provision`")
        }
        guard let signatureBytes = Data(base64Encoded: envelope.signature),
              let signature = try? P256.Signing.ECDSASignature(derRepresentation: signatureBytes),
              key.isValidSignature(signature, for: SHA256.hash(data: Data(envelope.payload.utf8)))
        else {
            throw IdentityError("the signature does not verify against the consortium CA (\(caCertificate.subject)); the list was altered or signed by another CA — re-issue it with `fedctl provision revoke --ca <consortium>/ca`")
        }
        let payload: Payload
        do {
            payload = try decoder.decode(Payload.self, from: Data(envelope.payload.utf8))
        } catch {
            throw IdentityError("the signed payload is malformed (\(ErrorText.describe(error))); re-issue it with `fedctl provision revoke`")
        }
        guard payload.format == Self.format else {
            throw IdentityError("format '\(payload.format)' is not \(Self.format); upgrade the coordinator or re-issue the list")
        }
        self.init(issuer: payload.issuer, updated: payload.updated, entries: payload.entries)
    }

    /// Reads and verifies the list at `url` (see ``init(verifying:caCertificate:)``); errors name the file.
    public init(contentsOf url: URL, caCertificate: Certificate) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw IdentityError("cannot read the revocation list: \(ErrorText.describe(error))")
        }
        do {
            try self.init(verifying: data, caCertificate: caCertificate)
        } catch let error as IdentityError {
            throw IdentityError("revocation list \(url.path): \(error.message)")
        }
    }

    /// Reads and verifies the list at `url` against the PEM CA certificate `caCertificatePEM` (the coordinator's `tls.ca`).
    public init(contentsOf url: URL, caCertificatePEM: String) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: caCertificatePEM)
        } catch {
            throw IdentityError("the consortium CA certificate is not a readable PEM certificate: \(error)")
        }
        try self.init(contentsOf: url, caCertificate: certificate)
    }

    /// Signs the list with `authority` and replaces `url` atomically (write to a temporary file, then rename).
    public func write(to url: URL, signedBy authority: ConsortiumAuthority) throws {
        let data = try signed(by: authority)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw IdentityError("cannot write the revocation list: \(ErrorText.describe(error))")
        }
    }
}

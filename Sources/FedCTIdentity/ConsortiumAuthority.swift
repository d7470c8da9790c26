// ConsortiumAuthority: the consortium's root CA, which issues role-bearing certificates for every participant.
import Crypto
import FedCTCore
import Foundation
public import X509
import SwiftASN1

/// A certificate and its private key, both PEM.
public struct IssuedCredential: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
}

/// The consortium's certificate authority: an ECDSA P-256 root that signs participant certificates.
public struct ConsortiumAuthority: Sendable {
    public let consortium: String
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// Creates a new self-signed root CA valid for `validityDays`.
    public init(consortium: String, validityDays: Int = 3650, now: Date = Date()) throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName(consortium)
            CommonName("\(consortium) FedCT root CA")
        }
        self.consortium = consortium
        self.key = key
        self.certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(validityDays) * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: .init(key)
        )
    }

    /// Loads an existing CA from its PEM certificate and key.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw IdentityError("cannot load the consortium CA: \(error)")
        }
        consortium = certificate.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.organizationName }
            .flatMap { String($0.value) } ?? "consortium"
    }

    /// Loads the CA that `fedctl provision` wrote into `folder` (`ca.pem` and `ca-key.pem`).
    public init(folder: URL) throws {
        func read(_ file: String) throws -> String {
            let url = folder.appending(path: file)
            do {
                return try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw IdentityError("cannot read \(ErrorText.describe(error)); pass --ca the consortium's ca/ folder written by `fedctl provision`")
            }
        }
        try self.init(certificatePEM: try read("ca.pem"), privateKeyPEM: try read("ca-key.pem"))
    }

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }

    /// Whether this CA signed `certificate`.
    public func issued(_ certificate: Certificate) -> Bool {
        self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// A DER ECDSA P-256/SHA-256 signature over `data` with the CA key.
    func signature(for data: Data) throws -> Data {
        try key.signature(for: data).derRepresentation
    }
    public var privateKeyPEM: String { key.pemRepresentation }

    /// Issues a certificate for `name` with `role`; coordinators also get `hosts` (DNS names or IP addresses) as SANs.
    public func issue(name: String, role: ParticipantRole, hosts: [String] = [], validityDays: Int = 825, now: Date = Date()) throws -> IssuedCredential {
        let leafKey = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName(consortium)
            OrganizationalUnitName(role.rawValue)
            CommonName(name)
        }
        var alternativeNames: [GeneralName] = [.dnsName(name)]
        for host in hosts where host != name {
            if let address = Self.ipAddressBytes(host) {
                alternativeNames.append(.ipAddress(ASN1OctetString(contentBytes: address[...])))
            } else {
                alternativeNames.append(.dnsName(host))
            }
        }
        let usages: [ExtendedKeyUsage.Usage] = role == .coordinator ? [.serverAuth, .clientAuth] : [.clientAuth]
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(validityDays) * 86_400),
            issuer: self.certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                SubjectAlternativeNames(alternativeNames)
                AuthorityKeyIdentifier(keyIdentifier: try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(key)
        )
        return IssuedCredential(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: leafKey.pemRepresentation)
    }

    /// The 4 or 16 bytes of a literal IPv4/IPv6 address, or nil for a host name.
    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

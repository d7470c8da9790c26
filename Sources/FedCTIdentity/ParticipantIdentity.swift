// ParticipantIdentity: who a verified peer certificate says it is — a name from its SAN and a role from its subject.
import Foundation
public import X509

/// The role a certificate grants inside a consortium, carried in the subject's organizational unit.
public enum ParticipantRole: String, Sendable, CaseIterable, Codable {
    case coordinator
    case site
    case admin
}

/// A participant's identity as read from its certificate: never from a field in a message.
public struct ParticipantIdentity: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let role: ParticipantRole

    public init(name: String, role: ParticipantRole) {
        self.name = name
        self.role = role
    }

    /// Reads the identity from a PEM certificate (already verified against the consortium CA by TLS).
    public init(certificatePEM: String) throws {
        try self.init(certificate: try PeerCertificate.parse(certificatePEM))
    }

    public init(certificate: Certificate) throws {
        let units = certificate.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.organizationalUnitName }
        guard let unit = units.compactMap({ String($0.value) }).first, let role = ParticipantRole(rawValue: unit) else {
            throw IdentityError("certificate \(certificate.subject) carries no FedCT role (OU=coordinator|site|admin); issue it with `fedctl provision`")
        }
        let sanNames = (try? certificate.extensions.subjectAlternativeNames)??.compactMap { name -> String? in
            if case .dnsName(let dns) = name { return dns }
            return nil
        } ?? []
        let commonName = certificate.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }.flatMap { String($0.value) }
        guard let name = sanNames.first ?? commonName else {
            throw IdentityError("certificate \(certificate.subject) has no DNS subject alternative name or common name")
        }
        self.init(name: name, role: role)
    }

    public var description: String { "\(role.rawValue) \(name)" }
}

/// An identity or provisioning failure.
public struct IdentityError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A peer's certificate as the coordinator checks it on every call: the identity it names and its serial number.
public struct PeerCertificate: Sendable {
    public let identity: ParticipantIdentity
    /// The serial number in ``RevocationList/normalizedSerial(_:)`` notation.
    public let serial: String
    /// When the certificate expires.
    public let notAfter: Date

    /// Reads a PEM certificate already verified against the consortium CA by TLS.
    public init(certificatePEM: String) throws {
        let certificate = try Self.parse(certificatePEM)
        identity = try ParticipantIdentity(certificate: certificate)
        serial = RevocationList.serial(of: certificate)
        notAfter = certificate.notValidAfter
    }

    /// A peer's PEM certificate parsed, or an error saying it is unreadable.
    static func parse(_ certificatePEM: String) throws -> Certificate {
        do {
            return try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw IdentityError("the peer certificate is not a readable PEM certificate: \(error)")
        }
    }
}

// SignedToken: HMAC-SHA256-signed, expiring tokens for the web pages' login links and session cookies (pure logic).
public import Crypto
public import Foundation

/// A token `<payload>.<signature>`, both base64url: the payload names its purpose, subject, expiry and a nonce.
///
/// Login links carry a short-lived `login` token; exchanging it sets a `session` cookie holding a longer-lived
/// `session` token signed with the same key. Nothing else is stored: a token is valid when its signature verifies,
/// its purpose matches and it has not expired.
public struct SignedToken: Sendable, Equatable, Codable {
    /// What the token may be used for.
    public enum Purpose: String, Sendable, Codable {
        case login, session
    }

    public var purpose: Purpose
    /// Who the token was issued to (an admin's name, or the site's operator).
    public var subject: String
    /// Unix seconds after which the token is refused.
    public var expires: Double
    /// Random, so two tokens issued in the same second differ (and a login link can be used once).
    public var nonce: String

    public init(purpose: Purpose, subject: String, expires: Date, nonce: String = SignedToken.randomNonce()) {
        self.purpose = purpose
        self.subject = subject
        self.expires = expires.timeIntervalSince1970.rounded(.down)
        self.nonce = nonce
    }

    /// 16 random bytes, base64url.
    public static func randomNonce() -> String {
        Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }).base64URL
    }

    /// The token as text, signed with `key`.
    public func encoded(with key: SymmetricKey) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let payload = (try? encoder.encode(self)) ?? Data()
        let signature = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return payload.base64URL + "." + Data(signature).base64URL
    }

    /// Why a token was refused.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case malformed, badSignature, wrongPurpose, expired

        public var description: String {
            switch self {
            case .malformed: "the token is not a FedCT token (cut short when copied?)"
            case .badSignature: "the token's signature does not verify (issued by another coordinator or site, or altered)"
            case .wrongPurpose: "the token is not meant for this use"
            case .expired: "the token has expired; ask for a new link"
            }
        }
    }

    /// Verifies `text` with `key` and returns its token if it has `purpose` and has not expired at `now`.
    public static func verify(_ text: some StringProtocol, key: SymmetricKey, purpose: Purpose, now: Date = Date()) throws(Refusal) -> SignedToken {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard text.count <= 2048, parts.count == 2, let payload = Data(base64URL: parts[0]), let signature = Data(base64URL: parts[1]) else {
            throw .malformed
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: payload, using: key) else { throw .badSignature }
        guard let token = try? JSONDecoder().decode(SignedToken.self, from: payload) else { throw .malformed }
        guard token.purpose == purpose else { throw .wrongPurpose }
        guard now.timeIntervalSince1970 <= token.expires else { throw .expired }
        return token
    }
}

extension Data {
    /// Base64 with the URL- and cookie-safe alphabet and no padding.
    public var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init?(base64URL text: some StringProtocol) {
        var plain = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        plain += String(repeating: "=", count: (4 - plain.count % 4) % 4)
        self.init(base64Encoded: plain)
    }
}

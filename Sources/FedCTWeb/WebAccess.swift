// WebAccess: login links exchanged for session cookies, and the middleware that refuses every other request without one.
public import Crypto
import FedCTCore
import Foundation
public import Hummingbird
import HTTPTypes

/// How a web page admits people: a signed login link, then a signed session cookie.
public struct WebAccess: Sendable {
    let key: SymmetricKey
    let cookieName: String
    /// Cookies are marked `Secure` when the page is served over HTTPS.
    let secureCookies: Bool
    let sessionLifetime: TimeInterval
    /// Told to whoever arrives without a session, e.g. "run `fedctl dashboard login`".
    let howToLogIn: String
    private let usedLinks = NonceBook()

    public init(key: SymmetricKey, cookieName: String, secureCookies: Bool, sessionLifetime: TimeInterval = 8 * 3600, howToLogIn: String) {
        self.key = key
        self.cookieName = cookieName
        self.secureCookies = secureCookies
        self.sessionLifetime = sessionLifetime
        self.howToLogIn = howToLogIn
    }

    /// Adds `GET /login?token=…`: a valid, unused login token sets the session cookie and redirects to `/`.
    public func addLogin(to router: Router<BasicRequestContext>) {
        router.get("/login") { request, _ -> Response in
            guard let text = request.uri.queryParameters["token"] else {
                throw WebError(.badRequest, "the login link has no token; \(howToLogIn)")
            }
            let token: SignedToken
            do {
                token = try SignedToken.verify(String(text), key: key, purpose: .login)
            } catch {
                throw WebError(.unauthorized, "login refused: \(error); \(howToLogIn)")
            }
            guard usedLinks.use(token.nonce, until: token.expires) else {
                throw WebError(.unauthorized, "login refused: this link was already used; \(howToLogIn)")
            }
            let session = SignedToken(purpose: .session, subject: token.subject, expires: Date().addingTimeInterval(sessionLifetime))
            var cookie = "\(cookieName)=\(session.encoded(with: key)); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessionLifetime))"
            if secureCookies { cookie += "; Secure" }
            var response = Response.redirect(to: "/", type: .found)
            response.headers[.setCookie] = cookie
            return response
        }
    }

    /// The signed-in subject of `request`, or nil.
    func subject(of request: Request) -> String? {
        guard let value = request.cookies[cookieName]?.value else { return nil }
        return try? SignedToken.verify(value, key: key, purpose: .session).subject
    }

    /// Refuses requests without a valid session (401), except the login route and the static assets.
    public var middleware: some RouterMiddleware<BasicRequestContext> { AccessMiddleware(access: self) }
}

struct AccessMiddleware: RouterMiddleware {
    let access: WebAccess

    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/login" || path.hasPrefix("/assets/") || access.subject(of: request) != nil {
            return try await next(request, context)
        }
        throw WebError(.unauthorized, "not signed in (or the session expired); \(access.howToLogIn)")
    }
}

/// Login nonces already exchanged, kept until their token would have expired anyway.
final class NonceBook: @unchecked Sendable {
    private let lock = NSLock()
    private var used: [String: Double] = [:]

    /// Marks `nonce` used; false when it already was.
    func use(_ nonce: String, until expires: Double) -> Bool {
        lock.withLock {
            let now = Date().timeIntervalSince1970
            used = used.filter { $0.value >= now }
            return used.updateValue(expires, forKey: nonce) == nil
        }
    }
}

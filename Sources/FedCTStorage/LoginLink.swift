// LoginLink: where a daemon keeps its web page's login key and address, and the signed login links made from them.
import FedCTCore
public import Foundation

/// A daemon's web page as the operator's tools see it: `<state>/<name>-login.key` and `<state>/<name>.url`.
public struct LoginLink: Sendable {
    /// The coordinator's dashboard (`dashboard-login.key`, `dashboard.url`).
    public static let dashboard = LoginLink(name: "dashboard", startHint: "is the coordinator running with dashboard.listen set?")
    /// A site's status page (`status-login.key`, `status.url`).
    public static let siteStatus = LoginLink(name: "status", startHint: "is fedct-site running with status.listen set?")

    public let name: String
    let startHint: String

    public func keyFile(in stateDirectory: String) -> URL { URL(fileURLWithPath: stateDirectory).appending(path: "\(name)-login.key") }
    public func urlFile(in stateDirectory: String) -> URL { URL(fileURLWithPath: stateDirectory).appending(path: "\(name).url") }

    /// A link that signs `subject` in for `lifetime` seconds, made with the key in `stateDirectory`.
    public func make(stateDirectory: String, subject: String, lifetime: TimeInterval, now: Date = Date()) throws -> String {
        let file = urlFile(in: stateDirectory)
        guard let base = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines), !base.isEmpty else {
            throw FedCTError(.notFound, "\(file.path) is missing: \(startHint)")
        }
        let key = try LoginKey.load(keyFile(in: stateDirectory))
        let token = SignedToken(purpose: .login, subject: subject, expires: now.addingTimeInterval(lifetime)).encoded(with: key)
        return "\(base)/login?token=\(token)"
    }
}

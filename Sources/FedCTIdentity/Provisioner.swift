// Provisioner: writes a consortium's CA and one credentials folder per participant, keys readable by the owner only.
import FedCTCore
import Foundation

/// Who a consortium has: its coordinator's host names, its sites and its admins.
public struct ConsortiumPlan: Sendable {
    public var name: String
    public var coordinatorHosts: [String]
    public var sites: [String]
    public var admins: [String]
    /// The port the coordinator listens on (written into the start-up kits).
    public var coordinatorPort: Int

    public init(name: String, coordinatorHosts: [String], sites: [String], admins: [String], coordinatorPort: Int = 7443) {
        self.name = name
        self.coordinatorHosts = coordinatorHosts
        self.sites = sites
        self.admins = admins
        self.coordinatorPort = coordinatorPort
    }
}

/// Writes the consortium's credentials.
///
/// Layout under the output folder: `ca/ca.pem`, `ca/ca-key.pem` (keep offline) and an empty signed
/// `ca/revocation-list.json` (see ``RevocationList``), and for each
/// participant a start-up kit `<name>/` with `cert.pem`, `key.pem` (0600), `ca.pem`, a ready
/// configuration file (`coordinator.yaml` or `site.yaml`) and a README saying how to start. With
/// ``KitLayout/kubernetes`` the configurations use the container paths and the coordinator's and each site's folder
/// also gets `kubernetes/kit-secret.yaml` (0600): those kit files as the Kubernetes Secret `fedct-kit`.
public enum Provisioner {
    /// The folder name of the coordinator's credentials.
    public static let coordinatorName = "coordinator"

    public static func provision(_ plan: ConsortiumPlan, into directory: URL, now: Date = Date(), layout: KitLayout = .host) throws {
        let names = [coordinatorName] + plan.sites + plan.admins
        for name in names where !isValidName(name) {
            throw IdentityError("participant name '\(name)' must be lowercase letters, digits, '-' or '.', starting with a letter or digit")
        }
        if let duplicate = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw IdentityError("participant name '\(duplicate)' is used twice")
        }
        guard !plan.coordinatorHosts.isEmpty else { throw IdentityError("the coordinator needs at least one host name") }
        guard (1...65535).contains(plan.coordinatorPort) else { throw IdentityError("coordinator port \(plan.coordinatorPort) is not a TCP port") }
        let authority = try ConsortiumAuthority(consortium: plan.name, now: now)
        let caPEM = try authority.certificatePEM
        try write(caPEM, to: directory.appending(path: "ca/ca.pem"), secret: false)
        try write(authority.privateKeyPEM, to: directory.appending(path: "ca/ca-key.pem"), secret: true)
        try RevocationList(issuer: "\(authority.certificate.subject)", updated: now)
            .write(to: directory.appending(path: "ca/\(RevocationList.defaultFileName)"), signedBy: authority)

        var participants: [(String, ParticipantRole)] = [(coordinatorName, .coordinator)]
        participants += plan.sites.map { ($0, .site) }
        participants += plan.admins.map { ($0, .admin) }
        for (name, role) in participants {
            let hosts = role == .coordinator ? plan.coordinatorHosts : []
            let credential = try authority.issue(name: name, role: role, hosts: hosts, now: now)
            let folder = directory.appending(path: name)
            try write(credential.certificatePEM, to: folder.appending(path: "cert.pem"), secret: false)
            try write(credential.privateKeyPEM, to: folder.appending(path: "key.pem"), secret: true)
            try write(caPEM, to: folder.appending(path: "ca.pem"), secret: false)
            let kit = StartupKit.files(name: name, role: role, plan: plan, layout: layout)
            for (file, text) in kit {
                try write(text, to: folder.appending(path: file), secret: false)
            }
            if layout == .kubernetes, role != .admin {
                let files = [("ca.pem", caPEM), ("cert.pem", credential.certificatePEM), ("key.pem", credential.privateKeyPEM)] + kit
                try write(KubernetesKitSecret.manifest(participant: name, role: role, consortium: plan.name, files: files),
                          to: folder.appending(path: KubernetesKitSecret.path), secret: true)
            }
        }
    }

    /// Issues a fresh certificate and key (new serial, same name and role) for an existing participant and writes
    /// `cert.pem`, `key.pem` (0600) and `ca.pem` into `folder`, leaving any configuration and README there as they are.
    ///
    /// Refuses a `folder` whose `cert.pem` names someone else. Returns the new serial and, when `folder` held a
    /// certificate, the serial it replaced (still valid until revoked).
    public static func renew(name: String, role: ParticipantRole, hosts: [String] = [], authority: ConsortiumAuthority,
                             into folder: URL, now: Date = Date()) throws -> (serial: String, replaced: String?) {
        guard isValidName(name) else {
            throw IdentityError("participant name '\(name)' must be lowercase letters, digits, '-' or '.', starting with a letter or digit")
        }
        if role == .coordinator && hosts.isEmpty {
            throw IdentityError("a coordinator certificate needs the host names sites reach it at; pass --hosts (as in consortium.yaml)")
        }
        let existing = folder.appending(path: "cert.pem")
        var replaced: String?
        if let pem = try? String(contentsOf: existing, encoding: .utf8) {
            let previous = try PeerCertificate(certificatePEM: pem)
            guard previous.identity == ParticipantIdentity(name: name, role: role) else {
                throw IdentityError("\(existing.path) belongs to \(previous.identity), not \(role.rawValue) \(name); choose another --out")
            }
            replaced = previous.serial
        }
        let credential = try authority.issue(name: name, role: role, hosts: hosts, now: now)
        try write(credential.privateKeyPEM, to: folder.appending(path: "key.pem"), secret: true)
        try write(credential.certificatePEM, to: existing, secret: false)
        try write(try authority.certificatePEM, to: folder.appending(path: "ca.pem"), secret: false)
        return (try PeerCertificate(certificatePEM: credential.certificatePEM).serial, replaced)
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, CharacterSet.lowercaseLetters.union(.decimalDigits).contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }
    }

    static func write(_ text: String, to url: URL, secret: Bool) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard manager.createFile(atPath: url.path, contents: Data(text.utf8), attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
                throw IdentityError("cannot create \(url.path)")
            }
            try manager.setAttributes([.posixPermissions: secret ? 0o600 : 0o644], ofItemAtPath: url.path)
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError("cannot write \(ErrorText.describe(error))")
        }
    }
}

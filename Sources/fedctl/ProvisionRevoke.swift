// fedctl provision revoke | renew: revoke a certificate in the CA-signed revocation list; re-issue one participant's certificate.
import ArgumentParser
import FedCTIdentity
import Foundation

struct ProvisionRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Add a certificate to the consortium's signed revocation list (copy the list to the coordinator's tls.revocation_list).")

    @Option(name: .long, help: "The consortium's CA folder (ca.pem, ca-key.pem), written by `fedctl provision`.")
    var ca: String

    @Option(name: .long, help: "Serial number (hex, colons allowed) of the certificate to revoke.")
    var serial: String?

    @Option(name: .long, help: "The certificate (PEM) to revoke, instead of --serial.")
    var cert: String?

    @Option(name: .long, help: "Why it is revoked (recorded in the list).")
    var reason: String?

    @Option(name: .long, help: "The revocation list to update (default: <ca>/revocation-list.json; created if missing).")
    var list: String?

    @Flag(name: .long, help: "Print JSON (serial, name, role, list, whether it changed, how many are revoked).")
    var json = false

    @Flag(name: .long, help: "Revoke nothing: re-sign the list with the current time as its `updated` (for coordinators with tls.revocation_max_age_days).")
    var refresh = false

    func validate() throws {
        guard refresh || (serial == nil) != (cert == nil) else { throw ValidationError("pass exactly one of --serial and --cert, or --refresh") }
        guard !refresh || (serial == nil && cert == nil) else { throw ValidationError("--refresh revokes nothing; leave out --serial and --cert") }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: ca)
        let authority = try ConsortiumAuthority(folder: folder)
        let url = list.map(URL.init(fileURLWithPath:)) ?? folder.appending(path: RevocationList.defaultFileName)
        var revocations = FileManager.default.fileExists(atPath: url.path)
            ? try RevocationList(contentsOf: url, caCertificate: authority.certificate)
            : RevocationList(issuer: "\(authority.certificate.subject)")
        if refresh {
            revocations.updated = Date()
            try revocations.write(to: url, signedBy: authority)
            if json { return try JSONOutput.print(["list": url.path, "refreshed": true, "revoked_count": revocations.entries.count]) }
            print("re-signed \(url.path) (\(revocations.entries.count) revoked), updated now; copy it to the coordinator's tls.revocation_list path")
            return
        }
        let entry: RevokedCertificate
        if let cert {
            let pem: String
            do {
                pem = try String(contentsOfFile: cert, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read the certificate \(cert): \(error.localizedDescription)")
            }
            entry = try RevocationList.entry(revoking: pem, issuedBy: authority, reason: reason)
        } else {
            entry = RevokedCertificate(serial: try RevocationList.normalizedSerial(serial ?? ""), reason: reason)
        }
        let changed = try revocations.revoke(entry)
        if changed { try revocations.write(to: url, signedBy: authority) }
        if json {
            var object: [String: Any] = ["serial": entry.serial, "list": url.path, "changed": changed, "revoked_count": revocations.entries.count]
            if let name = entry.name { object["name"] = name }
            if let role = entry.role { object["role"] = role }
            return try JSONOutput.print(object)
        }
        guard changed else {
            print("serial \(entry.serial) is already revoked in \(url.path); nothing changed")
            return
        }
        let who = entry.name.map { " (\(entry.role ?? "?") \($0))" } ?? ""
        print("revoked serial \(entry.serial)\(who) in \(url.path) (\(revocations.entries.count) revoked); copy it to the coordinator's tls.revocation_list path, which it re-reads within seconds")
    }
}

struct ProvisionRenew: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Issue a fresh certificate and key (same name and role, new serial) for one participant, touching no one else.")

    @Option(name: .long, help: "The consortium's CA folder (ca.pem, ca-key.pem), written by `fedctl provision`.")
    var ca: String

    @Option(name: .long, help: "The participant's name (as provisioned).")
    var name: String

    @Option(name: .long, help: "The participant's role: site, admin or coordinator.")
    var role: String

    @Option(name: .long, parsing: .upToNextOption, help: "Coordinator only: host names or IP addresses it is reached at.")
    var hosts: [String] = []

    @Option(name: .long, help: "Start-up-kit folder to write cert.pem, key.pem and ca.pem into (its config and README are kept).")
    var out: String

    @Flag(name: .long, help: "Print JSON (name, role, new serial, the serial it replaced, folder).")
    var json = false

    func run() throws {
        guard let role = ParticipantRole(rawValue: role) else {
            throw ValidationError("--role must be one of \(ParticipantRole.allCases.map(\.rawValue).joined(separator: ", ")), not '\(role)'")
        }
        let authority = try ConsortiumAuthority(folder: URL(fileURLWithPath: ca))
        let renewed = try Provisioner.renew(name: name, role: role, hosts: hosts, authority: authority, into: URL(fileURLWithPath: out))
        if json {
            var object: [String: Any] = ["name": name, "role": role.rawValue, "serial": renewed.serial, "out": out]
            if let replaced = renewed.replaced { object["replaced_serial"] = replaced }
            return try JSONOutput.print(object)
        }
        print("issued \(role.rawValue) \(name) a new certificate, serial \(renewed.serial), in \(out)")
        if let replaced = renewed.replaced {
            print("the certificate it replaced (serial \(replaced)) stays valid until you run: fedctl provision revoke --ca \(ca) --serial \(replaced)")
        }
    }
}

// RevocationWatcher: the coordinator's copy of the consortium's signed revocation list, re-read when the file changes.
import FedCTCore
public import FedCTIdentity
import Foundation
public import Logging
import Synchronization

/// Holds the revocation list named by `tls.revocation_list` and answers whether a certificate serial is revoked.
///
/// The list is read and its CA signature verified at start (a bad or unreadable list stops the coordinator).
/// Afterwards, at most once per `checkInterval`, a lookup compares the file's modification time, size and inode
/// with the last read and re-reads it when they differ; a changed list that fails to verify is logged and the
/// last good list stays in force.
public final class RevocationWatcher: Sendable {
    private struct Stamp: Equatable {
        var modified: Date?
        var size: Int?
        var inode: Int?
    }

    private struct State {
        var list: RevocationList
        var stamp: Stamp
        var lastCheck: ContinuousClock.Instant
    }

    private let listURL: URL
    private let caCertificatePEM: String
    private let checkInterval: Duration
    private let logger: Logger
    private let state: Mutex<State>

    /// Loads `listFile`, verifying it against the CA certificate in `caFile`.
    public init(listFile: String, caFile: String, checkInterval: Duration = .seconds(2), logger: Logger) throws {
        listURL = URL(fileURLWithPath: listFile)
        do {
            caCertificatePEM = try String(contentsOfFile: caFile, encoding: .utf8)
        } catch {
            throw FedCTError(.invalidConfiguration, "tls.ca \(caFile) is unreadable (\(error.localizedDescription)); it is needed to verify tls.revocation_list")
        }
        self.checkInterval = checkInterval
        self.logger = logger
        let stamp = Self.stamp(of: listURL)
        let list: RevocationList
        do {
            list = try RevocationList(contentsOf: listURL, caCertificatePEM: caCertificatePEM)
        } catch let error as IdentityError {
            throw FedCTError(.invalidConfiguration, "tls.revocation_list: \(error.message)", cause: error)
        }
        state = Mutex(State(list: list, stamp: stamp, lastCheck: .now))
        logger.info("revocation list loaded", metadata: ["file": "\(listFile)", "revoked": "\(list.entries.count)"])
    }

    /// The entry revoking `serial`, or nil; re-reads the list first if it changed since the last check.
    public func revocation(ofSerial serial: String) -> RevokedCertificate? {
        state.withLock { state in
            let now = ContinuousClock.now
            if now - state.lastCheck >= checkInterval {
                state.lastCheck = now
                refresh(&state)
            }
            return state.list.entry(forSerial: serial)
        }
    }

    private func refresh(_ state: inout State) {
        let stamp = Self.stamp(of: listURL)
        guard stamp != state.stamp else { return }
        state.stamp = stamp
        do {
            state.list = try RevocationList(contentsOf: listURL, caCertificatePEM: caCertificatePEM)
            logger.notice("revocation list reloaded", metadata: ["file": "\(listURL.path)", "revoked": "\(state.list.entries.count)"])
        } catch {
            logger.error("revocation list changed but was refused; the previous list stays in force until a valid one is written",
                         metadata: ["file": "\(listURL.path)", "error": "\(error)"])
        }
    }

    private static func stamp(of url: URL) -> Stamp {
        let attributes = (try? FileManager.default.attributesOfItem(atPath: url.path)) ?? [:]
        return Stamp(modified: attributes[.modificationDate] as? Date,
                     size: (attributes[.size] as? NSNumber)?.intValue,
                     inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
    }
}

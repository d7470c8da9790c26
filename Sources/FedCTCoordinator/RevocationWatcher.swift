// RevocationWatcher: the coordinator's copy of the consortium's signed revocation list, re-read when the file changes.
import FedCTCore
public import FedCTIdentity
import FedCTStorage
import Foundation
public import Logging
import Synchronization

/// Holds the revocation list named by `tls.revocation_list` and answers whether a certificate serial is revoked.
///
/// The list is read and its CA signature verified at start (a bad or unreadable list stops the coordinator).
/// Afterwards, at most once per `checkInterval`, a lookup compares the file's modification time, size and inode
/// with the last read and re-reads it when they differ; a changed list that fails to verify, or whose `updated` time
/// is older than the list in force (a rollback to an old copy, which would un-revoke certificates), is logged as an
/// error and the last good list stays in force. With a state folder, the newest `updated` time enforced is kept in
/// `<state_dir>/revocation-list-updated`, so a restarted coordinator refuses to start on an older list. With `maxAge`,
/// a list in force that was signed longer ago than that is logged as a warning at load, at each reload and then once
/// an hour, until a fresher list arrives.
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
        var lastAgeWarning: ContinuousClock.Instant?
    }

    /// The file in the state folder holding the newest `updated` time enforced (ISO 8601).
    public static let newestUpdatedFileName = "revocation-list-updated"

    /// How often a list older than `maxAge` is warned about while it stays in force.
    static let ageWarningInterval: Duration = .seconds(3600)

    private let listURL: URL
    private let caCertificatePEM: String
    private let checkInterval: Duration
    private let maxAge: TimeInterval?
    private let newestUpdatedURL: URL?
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private let state: Mutex<State>

    /// Loads `listFile`, verifying it against the CA certificate in `caFile` and, with `stateDirectory`, that it is not
    /// older than a list this coordinator enforced before. `maxAgeDays` (`tls.revocation_max_age_days`) is how old the
    /// list may be before a warning; `clock` gives the wall-clock time the age is measured at.
    public init(listFile: String, caFile: String, stateDirectory: String? = nil, checkInterval: Duration = .seconds(2),
                maxAgeDays: Double? = nil, clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) throws {
        listURL = URL(fileURLWithPath: listFile)
        do {
            caCertificatePEM = try String(contentsOfFile: caFile, encoding: .utf8)
        } catch {
            throw FedCTError(.invalidConfiguration, "tls.ca \(caFile) is unreadable (\(error.localizedDescription)); it is needed to verify tls.revocation_list")
        }
        self.checkInterval = checkInterval
        self.maxAge = maxAgeDays.map { $0 * 86_400 }
        newestUpdatedURL = stateDirectory.map { URL(fileURLWithPath: $0).appending(path: Self.newestUpdatedFileName) }
        self.clock = clock
        self.logger = logger
        let stamp = Self.stamp(of: listURL)
        let list: RevocationList
        do {
            list = try RevocationList(contentsOf: listURL, caCertificatePEM: caCertificatePEM)
        } catch let error as IdentityError {
            throw FedCTError(.invalidConfiguration, "tls.revocation_list: \(error.message)", cause: error)
        }
        if let newestUpdatedURL, let text = try? String(contentsOf: newestUpdatedURL, encoding: .utf8),
           let enforced = try? Date(text.trimmingCharacters(in: .whitespacesAndNewlines), strategy: .iso8601), list.updated < enforced {
            throw FedCTError(.invalidConfiguration, """
                tls.revocation_list \(listFile) was updated \(list.updated.formatted(.iso8601)), before the list this coordinator \
                already enforced (\(enforced.formatted(.iso8601)), recorded in \(newestUpdatedURL.path)); an older copy would \
                un-revoke certificates. Copy the newest list from the CA folder (delete the record only if going back is intended)
                """)
        }
        state = Mutex(State(list: list, stamp: stamp, lastCheck: .now))
        recordNewest(list.updated)
        logger.info("revocation list loaded", metadata: ["file": "\(listFile)", "revoked": "\(list.entries.count)",
                                                        "updated": "\(list.updated.formatted(.iso8601))"])
        state.withLock { warnIfOld(&$0, now: .now) }
    }

    /// The `updated` time of the list in force.
    public var updated: Date { state.withLock { $0.list.updated } }

    /// Why the list in force is too old (naming the file, its `updated` time and the limit), or nil while it is
    /// fresh enough or no maximum age is set.
    public func ageProblem(now: Date) -> String? {
        ageProblem(updated: updated, now: now)
    }

    /// The entry revoking `serial`, or nil; re-reads the list first if it changed since the last check.
    public func revocation(ofSerial serial: String) -> RevokedCertificate? {
        state.withLock { state in
            let now = ContinuousClock.now
            if now - state.lastCheck >= checkInterval {
                state.lastCheck = now
                refresh(&state)
                warnIfOld(&state, now: now)
            }
            return state.list.entry(forSerial: serial)
        }
    }

    private func refresh(_ state: inout State) {
        let stamp = Self.stamp(of: listURL)
        guard stamp != state.stamp else { return }
        state.stamp = stamp
        do {
            let list = try RevocationList(contentsOf: listURL, caCertificatePEM: caCertificatePEM)
            guard list.updated >= state.list.updated else {
                logger.error("""
                    revocation list refused: it was updated \(list.updated.formatted(.iso8601)), before the list in force \
                    (\(state.list.updated.formatted(.iso8601))); an older copy would un-revoke certificates. The list in force \
                    stays; copy the newest list from the CA folder
                    """, metadata: ["file": "\(listURL.path)"])
                return
            }
            state.list = list
            state.lastAgeWarning = nil
            recordNewest(list.updated)
            logger.notice("revocation list reloaded", metadata: ["file": "\(listURL.path)", "revoked": "\(list.entries.count)",
                                                                "updated": "\(list.updated.formatted(.iso8601))"])
        } catch {
            logger.error("revocation list changed but was refused; the previous list stays in force until a valid one is written",
                         metadata: ["file": "\(listURL.path)", "error": "\(error)"])
        }
    }

    /// Keeps `updated` as the newest time enforced, for the check at the next start; a failure is logged, not fatal.
    private func recordNewest(_ updated: Date) {
        guard let newestUpdatedURL else { return }
        do {
            try FileManager.default.createDirectory(at: newestUpdatedURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(Array("\(updated.formatted(.iso8601))\n".utf8), to: newestUpdatedURL)
        } catch {
            logger.error("cannot record the revocation list's time; a restart will not detect an older list",
                         metadata: ["file": "\(newestUpdatedURL.path)", "error": "\(error)"])
        }
    }

    private func ageProblem(updated: Date, now: Date) -> String? {
        guard let maxAge else { return nil }
        let age = now.timeIntervalSince(updated)
        guard age > maxAge else { return nil }
        return """
            revocation list \(listURL.path) was last updated \(updated.formatted(.iso8601)), \(String(format: "%.1f", age / 86_400)) days ago, \
            longer than tls.revocation_max_age_days (\(String(format: "%g", maxAge / 86_400))); certificates revoked since may still be served. \
            Re-sign it (`fedctl provision revoke --refresh`) and copy it here, or ask the consortium's operator for the current list
            """
    }

    /// Logs ``ageProblem(now:)`` as a warning, at most once per ``ageWarningInterval`` for the same list.
    private func warnIfOld(_ state: inout State, now: ContinuousClock.Instant) {
        guard let problem = ageProblem(updated: state.list.updated, now: clock()) else { return }
        if let last = state.lastAgeWarning, now - last < Self.ageWarningInterval { return }
        state.lastAgeWarning = now
        logger.warning("\(problem)")
    }

    private static func stamp(of url: URL) -> Stamp {
        let attributes = (try? FileManager.default.attributesOfItem(atPath: url.path)) ?? [:]
        return Stamp(modified: attributes[.modificationDate] as? Date,
                     size: (attributes[.size] as? NSNumber)?.intValue,
                     inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
    }
}

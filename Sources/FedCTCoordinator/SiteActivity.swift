// SiteActivity: when each site last called the coordinator and with which certificate, for the sites-connected gauge and the dashboard.
public import Foundation
import FedCTIdentity

/// What the coordinator knows of one site from its calls.
public struct SiteSeen: Sendable, Equatable {
    public var site: String
    /// Wall-clock time of its last call.
    public var lastCall: Date
    /// Seconds since that call (monotonic clock).
    public var secondsSinceCall: Double
    /// The certificate of the last call: serial (revocation list notation) and expiry.
    public var certificateSerial: String
    public var certificateNotAfter: Date
    /// From its last Join; nil until it joined since the coordinator started.
    public var agentVersion: String?
}

/// The last call of every site, shared by the RPC handlers.
///
/// `@unchecked Sendable`: the dictionary is only touched under `lock`.
final class SiteActivity: @unchecked Sendable {
    private struct Entry {
        var instant: ContinuousClock.Instant
        var seen: SiteSeen
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// A site counts as connected while its last call is at most this old (as `JobStateMachine`'s liveness).
    let window: Duration

    init(window: Duration = .seconds(60)) {
        self.window = window
    }

    /// `site` made a call now with `certificate`.
    func called(_ site: String, certificate: PeerCertificate) {
        lock.withLock {
            let version = entries[site]?.seen.agentVersion
            entries[site] = Entry(instant: .now, seen: SiteSeen(
                site: site, lastCall: Date(), secondsSinceCall: 0, certificateSerial: certificate.serial,
                certificateNotAfter: certificate.notAfter, agentVersion: version))
        }
    }

    /// `site` joined with `agentVersion` (after `called`).
    func joined(_ site: String, agentVersion: String) {
        lock.withLock { entries[site]?.seen.agentVersion = agentVersion }
    }

    /// How many sites called within the window.
    func connectedCount() -> Int {
        let now = ContinuousClock.now
        return lock.withLock { entries.values.filter { $0.instant.duration(to: now) <= window }.count }
    }

    /// Every site that called since the coordinator started, by name.
    func snapshot() -> [SiteSeen] {
        let now = ContinuousClock.now
        return lock.withLock {
            entries.values.map { entry in
                var seen = entry.seen
                let elapsed = entry.instant.duration(to: now).components
                seen.secondsSinceCall = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
                return seen
            }.sorted { $0.site < $1.site }
        }
    }
}

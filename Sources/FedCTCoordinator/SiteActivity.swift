// SiteActivity: when each site last called the coordinator, for the sites-connected gauge (whether or not a job runs).
import Foundation

/// The last call time of every site, shared by the RPC handlers.
///
/// `@unchecked Sendable`: the dictionary is only touched under `lock`.
final class SiteActivity: @unchecked Sendable {
    private let lock = NSLock()
    private var lastCall: [String: ContinuousClock.Instant] = [:]
    /// A site counts as connected while its last call is at most this old (as `JobStateMachine`'s liveness).
    let window: Duration

    init(window: Duration = .seconds(60)) {
        self.window = window
    }

    /// `site` made a call now.
    func called(_ site: String) {
        lock.withLock { lastCall[site] = .now }
    }

    /// How many sites called within the window.
    func connectedCount() -> Int {
        let now = ContinuousClock.now
        return lock.withLock { lastCall.values.filter { $0.duration(to: now) <= window }.count }
    }
}

// CoordinatorMetrics: the coordinator's counters, gauges and timers, reported through swift-metrics (the executable picks the backend).
import FedCTCore
import FedCTProtocol
import FedCTRPC
import Foundation
import Metrics

/// Names and labels of the coordinator's metrics. Labels stay low-cardinality: job ids, RPC methods,
/// outcomes and reasons, and site names (bounded by the consortium).
enum CoordinatorMetrics {
    /// A round ended; committed rounds also record their duration.
    static func roundEnded(job: String, _ outcome: JobRun.RoundOutcome, seconds: Double? = nil) {
        Counter(label: "fedct_coordinator_rounds_total", dimensions: [("job", job), ("outcome", outcome.rawValue)]).increment()
        if let seconds { Metrics.Timer(label: "fedct_coordinator_round_duration_seconds").recordSeconds(seconds) }
    }

    /// A secure-aggregation step (advertising, sharing, masking, unmasking) took `seconds`.
    static func secureStep(_ step: SecAggServerRound.Phase, seconds: Double) {
        let name: String =
            switch step {
            case .advertising: "advertise_keys"
            case .sharing: "share_keys"
            case .masking: "masked_inputs"
            case .unmasking: "unmasking"
            case .completed, .aborted: "ended"
            }
        Metrics.Timer(label: "fedct_coordinator_secagg_step_duration_seconds", dimensions: [("step", name)]).recordSeconds(seconds)
    }

    /// Message bytes of one call: `received` from the peer, `sent` to it.
    static func rpcBytes(method: String, received: Int, sent: Int) {
        let method = FedCTServices.byPath[method]?.shortName ?? method
        if received > 0 { Counter(label: "fedct_coordinator_rpc_received_bytes_total", dimensions: [("method", method)]).increment(by: received) }
        if sent > 0 { Counter(label: "fedct_coordinator_rpc_sent_bytes_total", dimensions: [("method", method)]).increment(by: sent) }
    }

    /// A site's update was accepted into its round.
    static func updateAccepted(site: String, bytes: Int) {
        Counter(label: "fedct_coordinator_updates_accepted_total", dimensions: [("site", site)]).increment()
        Counter(label: "fedct_coordinator_update_bytes_total", dimensions: [("site", site)]).increment(by: bytes)
    }

    /// An upload was refused; the reason is the error's code (`integrity`, `failed-precondition`, …).
    static func uploadRejected(_ error: any Error) {
        let reason = (error as? FedCTError)?.code.rawValue ?? (error as? RPCError).map { "rpc-\($0.code)" } ?? "other"
        Counter(label: "fedct_coordinator_uploads_rejected_total", dimensions: [("reason", reason)]).increment()
    }

    /// A call with a revoked certificate was refused.
    static func revokedCallRefused() {
        Counter(label: "fedct_coordinator_revoked_calls_refused_total").increment()
    }

    /// Every job state's count, zeros included, so a state that empties shows 0 rather than its last value.
    static func jobs(byState counts: [String: Int], states: [String]) {
        for state in states { Gauge(label: "fedct_coordinator_jobs", dimensions: [("state", state)]).record(counts[state] ?? 0) }
    }

    /// Sites that made a call within the liveness window.
    static func sitesConnected(_ count: Int) {
        Gauge(label: "fedct_coordinator_sites_connected").record(count)
    }
}

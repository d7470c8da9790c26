// SiteMetrics: the site agent's counters and timers, reported through swift-metrics (the executable picks the backend).
import Metrics

/// Names and labels of the site agent's metrics; labels are message kinds and never patient data.
enum SiteMetrics {
    /// A round was trained and its update uploaded, after `seconds` of local training.
    static func roundTrained(trainingSeconds: Double) {
        Counter(label: "fedct_site_rounds_trained_total").increment()
        Metrics.Timer(label: "fedct_site_local_training_seconds").recordSeconds(trainingSeconds)
    }

    /// An outbound message of `kind` was written to the egress ledger, then `bytes` were sent.
    static func sent(kind: String, bytes: Int) {
        Counter(label: "fedct_site_ledger_entries_total", dimensions: [("kind", kind)]).increment()
        Counter(label: "fedct_site_sent_bytes_total", dimensions: [("kind", kind)]).increment(by: bytes)
    }

    /// `bytes` arrived from the coordinator in reply to a message of `kind`.
    static func received(kind: String, bytes: Int) {
        Counter(label: "fedct_site_received_bytes_total", dimensions: [("kind", kind)]).increment(by: bytes)
    }

    /// The site's policy or privacy budget refused a job's round.
    static func policyRefusal() {
        Counter(label: "fedct_site_policy_refusals_total").increment()
    }

    /// The coordinator was unreachable and the agent will try again.
    static func reconnect() {
        Counter(label: "fedct_site_reconnects_total").increment()
    }
}

// SiteConfig+Ledger: the site's privacy settings as the egress ledger's `open` entry records them (the policy in force).
extension SiteConfig {
    /// Setting → value, for the ledger's `open` entry; `fedctl audit verify` checks the entries after it against it.
    var ledgerPolicy: [String: String] {
        var policy = ["require_secure_aggregation": "\(requireSecureAggregation)", "delta": "\(privacyDelta)",
                      "archive_updates": "\(archiveUpdates)"]
        if let maxEpsilon { policy["max_epsilon"] = "\(maxEpsilon)" }
        if let minCohort { policy["min_cohort"] = "\(minCohort)" }
        return policy.merging(egressPolicy.record) { $1 }
    }
}

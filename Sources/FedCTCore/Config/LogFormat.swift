// LogFormat: the daemons' two log formats, as logging.format and --log-format name them.

/// How the daemons write their logs.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One readable line per event (swift-log's stream handler).
    case text
    /// One JSON object per line (FedCTObservability's `JSONLogHandler`), for log collectors and SIEMs.
    case json
}

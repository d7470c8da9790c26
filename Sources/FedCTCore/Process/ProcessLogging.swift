// ProcessLogging: how the FedCT executables bootstrap swift-log (readable lines or JSON objects on stderr at a chosen level).
public import Logging

/// How the daemons write their logs.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One readable line per event (swift-log's stream handler).
    case text
    /// One JSON object per line (`JSONLogHandler`), for log collectors and SIEMs.
    case json
}

/// Logging set-up for executables; libraries only take a `Logger`.
public enum ProcessLogging {
    /// Sends every logger's output to standard error at `level` and above, in `format`. Call once, first thing.
    public static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .text: StreamLogHandler.standardError(label: label)
                case .json: JSONLogHandler.standardError(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}

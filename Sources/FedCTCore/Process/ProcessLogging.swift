// ProcessLogging: how the FedCT executables bootstrap swift-log (plain lines on stderr at a chosen level).
public import Logging

/// Logging set-up for executables; libraries only take a `Logger`.
public enum ProcessLogging {
    /// Sends every logger's output to standard error at `level` and above. Call once, first thing.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

// ProcessLogging: how the FedCT executables bootstrap swift-log (readable lines or JSON objects on stderr at a chosen level).
public import FedCTCore
public import Logging

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

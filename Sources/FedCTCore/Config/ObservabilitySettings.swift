// ObservabilitySettings: the `metrics` and `logging` sections shared by coordinator.yaml and site.yaml.

/// Where a daemon serves `/metrics` and how it writes its logs.
public struct ObservabilitySettings: Sendable, Equatable {
    /// `metrics.listen`: `host:port` of the Prometheus endpoint; nil (the section absent) turns it off.
    public var metricsListen: String?
    /// `logging.format`: `text` (default) or `json`.
    public var logFormat: LogFormat

    public init(metricsListen: String? = nil, logFormat: LogFormat = .text) {
        self.metricsListen = metricsListen
        self.logFormat = logFormat
    }

    /// Reads the `metrics` and `logging` sections of `yaml`; the caller lists both among its known keys.
    public init(_ yaml: YAMLDocument) throws {
        self.init()
        if let metrics = try yaml.section("metrics") {
            try metrics.rejectUnknownKeys(["listen"])
            guard let listen = try metrics.string("listen"), let colon = listen.lastIndex(of: ":"),
                  Int(listen[listen.index(after: colon)...]).map({ (0...65535).contains($0) }) == true
            else {
                throw metrics.error("listen", "must be host:port, e.g. 127.0.0.1:9464 (remove the metrics section to turn the endpoint off)")
            }
            metricsListen = listen
        }
        if let logging = try yaml.section("logging") {
            try logging.rejectUnknownKeys(["format"])
            let name = try logging.string("format") ?? LogFormat.text.rawValue
            guard let format = LogFormat(rawValue: name) else {
                throw logging.error("format", "must be text or json (got '\(name)')")
            }
            logFormat = format
        }
    }
}

// CoordinatorConfig: the coordinator's YAML configuration (listen address, credentials, state folder, limits).
public import FedCTCore
public import FedCTRPC
import FedCTStorage
import Foundation

/// `coordinator.yaml`.
public struct CoordinatorConfig: Sendable {
    /// Address to listen on, e.g. `0.0.0.0:7443`; port 0 picks a free port.
    public var listen: String
    public var caFile: String
    public var certificateFile: String
    public var keyFile: String
    /// Folder for jobs, model blobs and update spools.
    public var stateDirectory: String
    public var maxMessageBytes: Int
    /// Size of the chunks models are streamed in.
    public var chunkBytes: Int
    /// Where to write the bound port once listening (for scripts that start with port 0).
    public var portFile: String?
    /// The CA-signed revocation list (`tls.revocation_list`), re-read when it changes; nil when not configured.
    public var revocationListFile: String?
    /// `tls.revocation_max_age_days`: warn when the revocation list in force was signed longer ago than this; nil: never.
    public var revocationMaxAgeDays: Double?
    /// `metrics.listen` and `logging.format`.
    public var observability: ObservabilitySettings
    /// `dashboard.listen`: `host:port` of the HTTPS dashboard; nil (the section absent) turns it off.
    public var dashboardListen: String?
    /// `dashboard.url`: the address admins open (its host must be in the coordinator's certificate);
    /// default `https://localhost:<port>`.
    public var dashboardURL: String?

    public init(listen: String, caFile: String, certificateFile: String, keyFile: String, stateDirectory: String,
                maxMessageBytes: Int = 8 << 20, chunkBytes: Int = 1 << 20, portFile: String? = nil, revocationListFile: String? = nil,
                revocationMaxAgeDays: Double? = nil, observability: ObservabilitySettings = ObservabilitySettings()) {
        self.listen = listen
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.stateDirectory = stateDirectory
        self.maxMessageBytes = maxMessageBytes
        self.chunkBytes = chunkBytes
        self.portFile = portFile
        self.revocationListFile = revocationListFile
        self.revocationMaxAgeDays = revocationMaxAgeDays
        self.observability = observability
    }

    public init(contentsOf path: String) throws {
        let yaml = try YAMLDocument(contentsOf: path)
        try yaml.rejectUnknownKeys(["listen", "tls", "state_dir", "max_message_mib", "chunk_kib", "port_file", "metrics", "logging", "dashboard"])
        guard let tls = try yaml.section("tls") else { throw yaml.error("tls", "is required (ca, cert, key)") }
        try tls.rejectUnknownKeys(["ca", "cert", "key", "revocation_list", "revocation_max_age_days"])
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ value: String) -> String { value.hasPrefix("/") ? value : base.appending(path: value).path }
        func required(_ document: YAMLDocument, _ key: String) throws -> String {
            guard let value = try document.string(key), !value.isEmpty else { throw document.error(key, "is required") }
            return resolve(value)
        }
        self.init(
            listen: try yaml.string("listen") ?? "0.0.0.0:7443",
            caFile: try required(tls, "ca"), certificateFile: try required(tls, "cert"), keyFile: try required(tls, "key"),
            stateDirectory: try required(yaml, "state_dir"),
            maxMessageBytes: (try yaml.int("max_message_mib") ?? 8) << 20,
            chunkBytes: (try yaml.int("chunk_kib") ?? 1024) << 10,
            portFile: try yaml.string("port_file").map(resolve),
            revocationListFile: try tls.string("revocation_list").map(resolve),
            revocationMaxAgeDays: try tls.double("revocation_max_age_days"),
            observability: try ObservabilitySettings(yaml))
        if let dashboard = try yaml.section("dashboard") {
            try dashboard.rejectUnknownKeys(["listen", "url"])
            guard let listen = try dashboard.string("listen"), !listen.isEmpty else {
                throw dashboard.error("listen", "is required, e.g. 127.0.0.1:8443 (remove the dashboard section to turn the dashboard off)")
            }
            dashboardListen = listen
            dashboardURL = try dashboard.string("url")
        }
        if let days = revocationMaxAgeDays, !(days > 0) {
            throw tls.error("revocation_max_age_days", "must be a positive number of days (got \(days))")
        }
        if revocationMaxAgeDays != nil && revocationListFile == nil {
            throw tls.error("revocation_max_age_days", "needs tls.revocation_list (the list whose age it limits)")
        }
        guard chunkBytes + 4096 <= maxMessageBytes else {
            throw yaml.error("chunk_kib", "must leave room under max_message_mib")
        }
    }

    /// The TLS material, with an error naming any unreadable file.
    public func tls() throws -> TLSConfig {
        try TLSConfig.load(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
    }
}

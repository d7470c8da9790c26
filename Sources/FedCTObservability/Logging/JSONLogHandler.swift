// JSONLogHandler: a swift-log handler writing one JSON object per line (timestamp, level, label, message, source, flattened metadata).
import FedCTCore
import Foundation
public import Logging

/// Writes each log event as one line of JSON, for log collectors and SIEMs:
///
/// `{"timestamp":"2026-11-23T14:30:47.123Z","level":"info","label":"fedct.coordinator","message":"round committed","source":"FedCTCoordinator","job":"job-0001","round":"3"}`
///
/// The fixed fields come first in that order; metadata follows with its keys sorted. Nested metadata is
/// flattened: a dictionary's entries become `outer.inner` keys, a list becomes a JSON array of strings. A
/// metadata key that would shadow a fixed field is written as `metadata.<key>`. An attached error is `error`.
public struct JSONLogHandler: LogHandler {
    /// Receives each finished line (without the newline).
    public typealias Sink = @Sendable (String) -> Void

    /// The fields every line starts with, in this order.
    static let fixedFields: Set<String> = ["timestamp", "level", "label", "message", "source", "error"]

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: Sink
    private let clock: @Sendable () -> Date

    /// A handler for logger `label` that hands each line to `sink`; `clock` gives the timestamp (tests pin it).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
                clock: @escaping @Sendable () -> Date = Date.init, sink: @escaping Sink) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.clock = clock
        self.sink = sink
    }

    /// A handler writing each line to standard error with one write (lines from different threads stay whole).
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let attached = event.metadata { merged.merge(attached) { $1 } }
        sink(line(for: event, metadata: merged))
    }

    /// The JSON object for one event, without the trailing newline.
    func line(for event: LogEvent, metadata: Logger.Metadata) -> String {
        var fields: [(String, String)] = [
            ("timestamp", JSONText.quoted(clock().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))),
            ("level", JSONText.quoted(event.level.rawValue)),
            ("label", JSONText.quoted(label)),
            ("message", JSONText.quoted(event.message.description)),
            ("source", JSONText.quoted(event.source)),
        ]
        if let error = event.error { fields.append(("error", JSONText.quoted("\(error)"))) }
        var flat: [(String, String)] = []
        for (key, value) in metadata { Self.flatten(value, key: key, into: &flat) }
        for (key, value) in flat.sorted(by: { $0.0 < $1.0 }) {
            fields.append((Self.fixedFields.contains(key) ? "metadata.\(key)" : key, value))
        }
        return "{" + fields.map { "\(JSONText.quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Appends `value` under `key` as JSON, with dictionaries spread into dotted keys.
    static func flatten(_ value: Logger.Metadata.Value, key: String, into fields: inout [(String, String)]) {
        switch value {
        case .string(let text):
            fields.append((key, JSONText.quoted(text)))
        case .stringConvertible(let convertible):
            fields.append((key, JSONText.quoted(convertible.description)))
        case .array(let items):
            fields.append((key, "[" + items.map { JSONText.quoted($0.description) }.joined(separator: ",") + "]"))
        case .dictionary(let entries):
            for (inner, nested) in entries { flatten(nested, key: "\(key).\(inner)", into: &fields) }
        }
    }

}

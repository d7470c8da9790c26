// Tests of the JSON log handler (one object per line, fixed fields first, metadata flattened) and of the metrics/logging config sections.
import FedCTCore
import FedCTObservability
import Foundation
import Logging
import XCTest

final class JSONLogHandlerTests: XCTestCase {
    /// Collects the handler's lines.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }

    private func logger(_ lines: Lines, provider: Logger.MetadataProvider? = nil) -> Logger {
        var logger = Logger(label: "fedct.test") { label in
            JSONLogHandler(label: label, metadataProvider: provider, clock: { Date(timeIntervalSince1970: 1_795_000_000.25) }) { lines.append($0) }
        }
        logger.logLevel = .debug
        return logger
    }

    func testOneObjectPerLineWithFixedFieldsFirstAndMetadataFlattened() throws {
        let lines = Lines()
        var logger = logger(lines)
        logger[metadataKey: "site"] = "site-1"
        logger.info("round committed", metadata: [
            "job": "job-0001", "round": .stringConvertible(3),
            "secagg": .dictionary(["threshold": "2", "dropped": .array(["site-3"])]),
        ])
        logger.trace("below the level")
        XCTAssertEqual(lines.all.count, 1)
        let line = try XCTUnwrap(lines.all.first)
        XCTAssertFalse(line.contains("\n"))
        XCTAssertTrue(line.hasPrefix(#"{"timestamp":"2026-11-18T11:06:40.250Z","level":"info","label":"fedct.test","message":"round committed","source":"#), line)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["job"] as? String, "job-0001")
        XCTAssertEqual(object["round"] as? String, "3")
        XCTAssertEqual(object["site"] as? String, "site-1")
        XCTAssertEqual(object["secagg.threshold"] as? String, "2")
        XCTAssertEqual(object["secagg.dropped"] as? [String], ["site-3"])
        XCTAssertEqual(object["source"] as? String, "FedCTObservabilityTests", "the source is the logging module, here the test target")
    }

    func testEscapingShadowedKeysProviderMetadataAndErrors() throws {
        let lines = Lines()
        let provider = Logger.MetadataProvider { ["request": "r-7"] }
        let logger = logger(lines, provider: provider)
        logger.error("bad \"quote\"\tand\u{1}control\nnewline", metadata: ["level": "shadow", "message": "also"])
        let line = try XCTUnwrap(lines.all.first)
        XCTAssertEqual(lines.all.count, 1)
        XCTAssertTrue(line.contains(#""message":"bad \"quote\"\tand\u0001control\nnewline""#), line)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["level"] as? String, "error")
        XCTAssertEqual(object["metadata.level"] as? String, "shadow")
        XCTAssertEqual(object["metadata.message"] as? String, "also")
        XCTAssertEqual(object["request"] as? String, "r-7")
    }

    func testObservabilitySectionsParseAndNameBadFields() throws {
        let settings = try ObservabilitySettings(YAMLDocument(text: """
            metrics: {listen: "127.0.0.1:9464"}
            logging: {format: json}
            """, source: "site.yaml"))
        XCTAssertEqual(settings, ObservabilitySettings(metricsListen: "127.0.0.1:9464", logFormat: .json))
        XCTAssertEqual(try ObservabilitySettings(YAMLDocument(text: "threads: 1", source: "site.yaml")), ObservabilitySettings())
        XCTAssertThrowsError(try ObservabilitySettings(YAMLDocument(text: "metrics: {listen: localhost}", source: "site.yaml"))) {
            XCTAssertTrue("\($0)".contains("site.yaml: field 'metrics.listen' must be host:port"), "\($0)")
        }
        XCTAssertThrowsError(try ObservabilitySettings(YAMLDocument(text: "logging: {format: xml}", source: "c.yaml"))) {
            XCTAssertTrue("\($0)".contains("field 'logging.format' must be text or json (got 'xml')"), "\($0)")
        }
    }
}

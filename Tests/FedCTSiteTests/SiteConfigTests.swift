// SiteConfigTests: site.yaml's heartbeat period — its default, a set value, and the errors that name the field.
@testable import FedCTSite
import Foundation
import XCTest

final class SiteConfigTests: XCTestCase {
    private func config(_ coordinator: String) throws -> SiteConfig {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-site-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appending(path: "site.yaml").path
        try """
            coordinator: {\(coordinator)}
            tls: {ca: ca.pem, cert: cert.pem, key: key.pem}
            data: {dir: data}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return try SiteConfig(contentsOf: path)
    }

    func testHeartbeatDefaultsToFifteenSecondsAndCanBeSet() throws {
        XCTAssertEqual(try config("address: \"coordinator:7443\"").heartbeatInterval, .seconds(15))
        XCTAssertEqual(try config("address: \"coordinator:7443\", heartbeat_seconds: 2.5").heartbeatInterval, .milliseconds(2500))
    }

    func testAHeartbeatTheLivenessWindowWouldMissIsRefusedNamingTheField() throws {
        for value in ["60", "0", "-1"] {
            XCTAssertThrowsError(try config("address: \"coordinator:7443\", heartbeat_seconds: \(value)")) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("heartbeat_seconds") && text.contains("between 0.1 and 45"), text)
            }
        }
    }
}

// WireProtocolVersionTests: which versions each side accepts at Join, and refusals that name both versions and what to upgrade.
import FedCTProtocol
import XCTest

final class WireProtocolVersionTests: XCTestCase {
    func testTheCurrentProtocolIsServedAndAnAbsentFieldIsProtocolOne() {
        XCTAssertNil(WireProtocolVersion.coordinatorRefusal(site: WireProtocolVersion.current, agentVersion: "0.1.0", coordinatorVersion: "0.1.0"))
        XCTAssertNil(WireProtocolVersion.siteRefusal(coordinator: WireProtocolVersion.current, oldestSiteServed: WireProtocolVersion.oldestSiteServed,
                                                     coordinatorVersion: "0.1.0", agentVersion: "0.1.0"))
        XCTAssertEqual(WireProtocolVersion.stated(0), 1)
        XCTAssertEqual(WireProtocolVersion.stated(2), 2)
    }

    func testTheCoordinatorRefusesAnOlderAgentNamingBothVersions() throws {
        let refusal = try XCTUnwrap(WireProtocolVersion.coordinatorRefusal(site: 0, agentVersion: "0.0.9", coordinatorVersion: "0.1.0"))
        XCTAssertTrue(refusal.contains("version 0.0.9") && refusal.contains("protocol 1") && refusal.contains("version 0.1.0"), refusal)
        XCTAssertTrue(refusal.hasSuffix("upgrade the site agent"), refusal)
    }

    func testTheCoordinatorRefusesANewerAgentAskingForACoordinatorUpgrade() throws {
        let refusal = try XCTUnwrap(WireProtocolVersion.coordinatorRefusal(site: WireProtocolVersion.current + 1, agentVersion: "0.3.0", coordinatorVersion: "0.1.0"))
        XCTAssertTrue(refusal.contains("protocol \(WireProtocolVersion.current + 1)") && refusal.contains("upgrade the coordinator"), refusal)
    }

    func testAnAgentRefusesAnOlderCoordinatorAndOneThatNoLongerServesIt() throws {
        let old = try XCTUnwrap(WireProtocolVersion.siteRefusal(coordinator: 0, oldestSiteServed: 0, coordinatorVersion: "0.0.9", agentVersion: "0.1.0"))
        XCTAssertTrue(old.contains("coordinator (version 0.0.9) speaks FedCT protocol 1") && old.contains("upgrade the coordinator"), old)
        let ahead = try XCTUnwrap(WireProtocolVersion.siteRefusal(coordinator: WireProtocolVersion.current + 1, oldestSiteServed: WireProtocolVersion.current + 1,
                                                                  coordinatorVersion: "0.3.0", agentVersion: "0.1.0"))
        XCTAssertTrue(ahead.contains("serves sites on protocol \(WireProtocolVersion.current + 1)") && ahead.hasSuffix("upgrade the site agent"), ahead)
    }
}

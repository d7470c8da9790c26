// Multi-process test of `fedct-site check`: exit status and JSON report of the real executable, and no connection to the coordinator.
import FedCTData
import Foundation
import Glibc
import XCTest

final class SiteCheckProcessTests: XCTestCase {
    func testCheckReportsAsJSONExitsByBlockingAndNeverConnects() throws {
        let harness = try ProcessHarness()
        try SyntheticConsortium(patientsPerSite: [8], volumeSize: 16, seed: 11).write(to: harness.folder.appending(path: "data"))
        // A listening socket stands in for the coordinator: the check must leave it without a single connection.
        let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        XCTAssertTrue(listening)
        let port = UInt16(bigEndian: address.sin_port)
        let config = try harness.write("""
            coordinator:
              address: 127.0.0.1:\(port)
            tls:
              ca: absent-ca.pem
              cert: absent-cert.pem
              key: absent-key.pem
            data:
              dir: data/site-1
            """, to: "site.yaml")

        let clean = try harness.run("fedct-site", ["check", "--config", config, "--json"])
        XCTAssertEqual(clean.status, 0, clean.output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(clean.output.utf8)) as? [String: Any], clean.output)
        XCTAssertEqual(report["blocking"] as? Bool, false)
        XCTAssertEqual(report["scans"] as? Int, 8)

        let events = harness.folder.appending(path: "data/site-1/events.csv")
        try (String(contentsOf: events, encoding: .utf8) + "s1-00001,yesterday,LAB/X,1\n").write(to: events, atomically: true, encoding: .utf8)
        let broken = try harness.run("fedct-site", ["check", "--config", config])
        XCTAssertEqual(broken.status, 2, broken.output)
        XCTAssertTrue(broken.output.contains("events.csv:") && broken.output.contains("time 'yesterday'"), broken.output)
        XCTAssertTrue(broken.output.contains("result: BLOCKED"), broken.output)

        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        XCTAssertEqual(accept(listener, nil, nil), -1, "fedct-site check connected to the coordinator address")
    }
}

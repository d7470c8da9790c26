// Multi-process test: a coordinator and a site agent with metrics.listen run a 2-round job; both /metrics endpoints are
// scraped over a plain socket (counters moved, 404 elsewhere), the site logs JSON lines, and both daemons exit 0 on SIGTERM.
import FedCTAdmin
import FedCTData
import FedCTIdentity
import FedCTProto
import FedCTRPC
import Foundation
import Glibc
import XCTest

final class MetricsEndToEndTests: XCTestCase {
    func testBothDaemonsServeMetricsLogJSONAndStopOnSIGTERM() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: ["admin"]),
                                  into: root.appending(path: "pki"))
        try SyntheticConsortium(patientsPerSite: [8], volumeSize: 16, seed: 11).write(to: root.appending(path: "data"))
        let coordinatorMetrics = try ProcessHarness.freePort()
        let siteMetrics = try ProcessHarness.freePort()
        let coordinatorConfig = try harness.write("""
            listen: 127.0.0.1:0
            port_file: \(root.path)/coordinator.port
            state_dir: \(root.path)/state
            tls: {ca: pki/coordinator/ca.pem, cert: pki/coordinator/cert.pem, key: pki/coordinator/key.pem}
            metrics: {listen: "127.0.0.1:\(coordinatorMetrics)"}
            """, to: "coordinator.yaml")
        let coordinator = try harness.start("fedct-coordinator", ["--config", coordinatorConfig], label: "coordinator")
        let address = "localhost:\(try harness.waitForFile(root.appending(path: "coordinator.port")))"
        let siteConfig = try harness.write("""
            coordinator: {address: "\(address)"}
            tls: {ca: pki/site-1/ca.pem, cert: pki/site-1/cert.pem, key: pki/site-1/key.pem}
            data: {dir: data/site-1}
            threads: 1
            state_dir: state-site-1
            privacy: {require_secure_aggregation: false}
            metrics: {listen: "127.0.0.1:\(siteMetrics)"}
            logging: {format: json}
            """, to: "site-1.yaml")
        let site = try harness.start("fedct-site", ["--config", siteConfig], label: "site-1")

        let admin = try AdminClient(address: address, tls: TLSConfig.load(
            caFile: root.appending(path: "pki/admin/ca.pem").path, certificateFile: root.appending(path: "pki/admin/cert.pem").path,
            keyFile: root.appending(path: "pki/admin/key.pem").path))
        let job = try await admin.submit(.tiny(name: "metrics-it", rounds: 2, minSites: 1, secure: false)).jobID
        var status = try await admin.job(job)
        let deadline = Date().addingTimeInterval(180)
        while ![.succeeded, .failed, .cancelled].contains(status.state) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(300))
            status = try await admin.job(job)
        }
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))")
        // Gauges are refreshed every second by the coordinator's ticker.
        try await Task.sleep(for: .seconds(2))

        let fromCoordinator = try Self.scrape(port: coordinatorMetrics)
        XCTAssertEqual(fromCoordinator.status, 200)
        let c = Self.samples(fromCoordinator.body)
        XCTAssertEqual(c.sum("fedct_coordinator_rounds_total", ["job": job, "outcome": "committed"]), 2, fromCoordinator.body)
        XCTAssertEqual(c.sum("fedct_coordinator_round_duration_seconds_count"), 2, fromCoordinator.body)
        XCTAssertEqual(c.sum("fedct_coordinator_sites_connected"), 1, fromCoordinator.body)
        XCTAssertEqual(c.sum("fedct_coordinator_jobs", ["state": "succeeded"]), 1, fromCoordinator.body)
        XCTAssertEqual(c.sum("fedct_coordinator_updates_accepted_total", ["site": "site-1"]), 2, fromCoordinator.body)
        XCTAssertGreaterThan(c.sum("fedct_coordinator_rpc_received_bytes_total", ["method": "Site/UploadUpdate"]), 0, fromCoordinator.body)
        XCTAssertGreaterThan(c.sum("fedct_coordinator_rpc_sent_bytes_total", ["method": "Site/FetchModel"]), 0, fromCoordinator.body)
        XCTAssertEqual(try Self.scrape(port: coordinatorMetrics, path: "/other").status, 404)

        let fromSite = try Self.scrape(port: siteMetrics)
        XCTAssertEqual(fromSite.status, 200)
        let s = Self.samples(fromSite.body)
        XCTAssertEqual(s.sum("fedct_site_rounds_trained_total"), 2, fromSite.body)
        XCTAssertEqual(s.sum("fedct_site_local_training_seconds_count"), 2, fromSite.body)
        XCTAssertGreaterThan(s.sum("fedct_site_sent_bytes_total", ["kind": "update"]), 0, fromSite.body)
        XCTAssertGreaterThan(s.sum("fedct_site_received_bytes_total", ["kind": "fetch-model"]), 0, fromSite.body)
        XCTAssertEqual(s.sum("fedct_site_ledger_entries_total", ["kind": "update"]), 2, fromSite.body)

        // SIGTERM: both stop gracefully with status 0.
        site.terminate()
        coordinator.terminate()
        site.waitUntilExit()
        coordinator.waitUntilExit()
        XCTAssertEqual(site.terminationReason, .exit)
        XCTAssertEqual(site.terminationStatus, 0, harness.log("site-1"))
        XCTAssertEqual(coordinator.terminationReason, .exit)
        XCTAssertEqual(coordinator.terminationStatus, 0, harness.log("coordinator"))
        XCTAssertThrowsError(try Self.scrape(port: coordinatorMetrics), "the metrics listener must be closed after SIGTERM")

        // The site wrote one JSON object per line, with the job and round as fields.
        let lines = harness.log("site-1").split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        let objects = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0)) }
        let trained = objects.filter { $0["message"] as? String == "round trained and uploaded" }
        XCTAssertEqual(trained.compactMap { $0["round"] as? String }, ["1", "2"])
        XCTAssertTrue(trained.allSatisfy { $0["job"] as? String == job && $0["label"] as? String == "fedct.site" && $0["level"] as? String == "info" })
        XCTAssertTrue(objects.contains { $0["message"] as? String == "stopped" })
    }

    /// One HTTP/1.1 request over a plain TCP socket; returns the status code and body.
    static func scrape(port: Int, path: String = "/metrics") throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw HarnessError("cannot connect to 127.0.0.1:\(port)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw HarnessError("cannot send to 127.0.0.1:\(port)") }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first, statusLine.hasPrefix("HTTP/1.1 "),
              let status = Int(statusLine.split(separator: " ")[1]), let split = text.range(of: "\r\n\r\n")
        else { throw HarnessError("not an HTTP response from 127.0.0.1:\(port): \(text.prefix(200))") }
        return (status, String(text[split.upperBound...]))
    }

    /// Samples of a Prometheus text exposition: metric name, labels, value.
    struct Samples {
        var rows: [(name: String, labels: [String: String], value: Double)]

        /// The sum of the samples named `name` whose labels include `labels`.
        func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
            rows.filter { row in row.name == name && labels.allSatisfy { row.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
        }
    }

    static func samples(_ text: String) -> Samples {
        var rows: [(String, [String: String], Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                name = String(series[..<open])
                for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { labels[String(parts[0])] = String(parts[1].dropFirst().dropLast()) }
                }
            }
            rows.append((name, labels, value))
        }
        return Samples(rows: rows)
    }
}

// Multi-process test: a counting TCP proxy between each site and the coordinator (real gRPC and mTLS) reconciles the
// bytes a site put on the wire with its egress ledger: ledger ≤ wire ≤ ledger × (1 + ε) + k × calls + h × connections.
import FedCTAdmin
import FedCTAudit
import FedCTIdentity
import FedCTProto
import FedCTRPC
import Foundation
import XCTest

final class WireReconciliationEndToEndTests: XCTestCase {
    /// The overhead the reconciliation allows (`Docs/privacy-reviewer-guide.md`, "Reconciling the ledger with the wire").
    /// ε: TLS records (22 bytes per ≤ 16 KiB) and HTTP/2 DATA frames (9 bytes per ≤ 16 KiB) around the ledgered bytes;
    /// k: per call, the HTTP/2 HEADERS of the request and its end, the gRPC length prefix (5 bytes per message), the
    /// stream's WINDOW_UPDATE and PING/SETTINGS acknowledgements, each in its own TLS record; h: per connection, the TLS 1.3
    /// client handshake with the site's certificate, the HTTP/2 preface and SETTINGS.
    static let epsilon = 0.01
    static let perCall = 400
    static let perConnection = 4_096

    func testSiteWireBytesReconcileWithItsLedger() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [12, 12], seed: 41)
        var proxies: [String: FaultProxy] = [:]
        for name in names { proxies[name] = try FaultProxy(targetPort: federation.port) }
        defer { proxies.values.forEach { $0.stop() } }
        // A secure setup stage (signed candidate lists, masked counts), two secure rounds and an evaluation.
        let job = try await federation.submit(SetupStageEndToEndTests.derivedSpec(name: "reconciled", rounds: 2))
        for name in names { try federation.startSite(name, through: proxies[name]!) }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))")
        // The agents exit after the job; wait for them so every byte they sent has passed the proxy.
        let exitDeadline = Date().addingTimeInterval(60)
        while Date() < exitDeadline && names.contains(where: { !harness.log($0).contains("job finished; exiting") }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .milliseconds(500))

        // The constants themselves, measured on the same stack: a fresh connection (a site-sized certificate) making one
        // call with an empty request costs h + k; ten more calls cost 10 k.
        let probe = try FaultProxy(targetPort: federation.port)
        defer { probe.stop() }
        let client = try AdminClient(address: probe.address, tls: TLSConfig.load(
            caFile: root.appending(path: "pki/admin/ca.pem").path, certificateFile: root.appending(path: "pki/admin/cert.pem").path,
            keyFile: root.appending(path: "pki/admin/key.pem").path))
        _ = try await client.list()
        try await Task.sleep(for: .milliseconds(300))
        let first = probe.bytes(.up)
        for _ in 0..<10 { _ = try await client.list() }
        try await Task.sleep(for: .milliseconds(300))
        let perCall = Double(probe.bytes(.up) - first) / 10
        let handshake = Double(first) - perCall
        print(String(format: "wire reconciliation: measured TLS handshake and HTTP/2 set-up h = %.0f bytes, per empty call k = %.1f bytes (%d connection(s))",
                     handshake, perCall, probe.accepted))
        XCTAssertEqual(probe.accepted, 1)
        XCTAssertLessThanOrEqual(handshake, Double(Self.perConnection), "the stated handshake allowance covers the measured one")
        XCTAssertLessThanOrEqual(perCall, Double(Self.perCall), "the stated per-call allowance covers the measured one")

        let ca = root.appending(path: "pki/site-1/ca.pem").path
        let verifier = EgressLedgerVerifier(authority: try SigningCertificateVerifier(caCertificatePEM: try String(contentsOfFile: ca, encoding: .utf8), source: ca))
        for name in names {
            let audit = try verifier.verify(folder: root.appending(path: "state-\(name)"))
            XCTAssertNil(audit.failure, "\(name): \(audit.failure!)")
            let intents = audit.entries.filter { $0.type == .intent }
            let ledger = intents.reduce(0) { $0 + ($1.bytes ?? 0) }
            let calls = intents.count
            let proxy = proxies[name]!
            let wire = proxy.bytes(.up)
            let connections = proxy.accepted
            let allowed = Int((Double(ledger) * (1 + Self.epsilon)).rounded(.up)) + Self.perCall * calls + Self.perConnection * connections
            // What h and k do not explain, as a fraction of the ledger: the measured ε.
            let residual = Double(wire - ledger) - handshake * Double(connections) - perCall * Double(calls)
            print(String(format: "wire reconciliation %@: ledger %d bytes in %d calls, wire %d bytes up over %d connection(s); wire − ledger = %d = h·%d + k·%d + %.0f (ε = %.4f); allowed %d",
                         name, ledger, calls, wire, connections, wire - ledger, connections, calls, residual, residual / Double(max(ledger, 1)), allowed))
            for kind in ["setup-candidates", "setup-masked", "masked-update", "secagg-unmask", "metrics"] {
                XCTAssertTrue(intents.contains { $0.kind == kind }, "\(name): the reconciled traffic includes \(kind)")
            }
            XCTAssertLessThanOrEqual(ledger, wire, "\(name): everything the ledger records crossed the wire (TLS adds bytes, never removes them)")
            XCTAssertLessThanOrEqual(wire, allowed, "\(name): the wire carries no more than the ledger plus the stated overhead")
        }
    }
}

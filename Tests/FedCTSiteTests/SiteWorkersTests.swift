// SiteWorkersTests: site.yaml `workers` — the short and long forms, which rank runs where, and errors that name the field.
import FedCTCore
@testable import FedCTSite
import Foundation
import XCTest

final class SiteWorkersTests: XCTestCase {
    private func workers(_ yaml: String) throws -> SiteWorkers {
        try SiteWorkers(YAMLDocument(text: yaml, source: "site.yaml"))
    }

    private func assertRefused(_ yaml: String, naming field: String, saying words: String, line: UInt = #line) {
        XCTAssertThrowsError(try workers(yaml), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("site.yaml: field '\(field)'") && text.contains(words), text, line: line)
        }
    }

    func testAbsentIsTheAgentAloneAndACountIsProcessesOnThisMachine() throws {
        XCTAssertEqual(try workers("threads: 2"), .single)
        XCTAssertFalse(SiteWorkers.single.isDataParallel)
        let two = try workers("workers: 2")
        XCTAssertEqual(two.local, 2)
        XCTAssertEqual(two.size, 2)
        XCTAssertNil(two.rendezvous, "ranks on one machine meet through a file, with no listening socket")
        XCTAssertEqual(two.placement(ofRank: 0), .agent)
        XCTAssertEqual(two.placement(ofRank: 1), .localProcess)
        XCTAssertNil(two.placement(ofRank: 2))
        XCTAssertEqual(two.interfaceHost(ofRank: 1), "127.0.0.1")
        XCTAssertEqual(two.timeoutSeconds, 300)
    }

    func testRemoteWorkersTakeTheRanksAfterTheLocalOnesInTheirOrder() throws {
        let site = try workers("""
            workers:
              local: 2
              remote: [10.1.0.12, gpu-3.hospital.lan]
              rendezvous: 10.1.0.11:29500
              timeout_seconds: 60
            """)
        XCTAssertEqual(site.size, 4)
        XCTAssertEqual((0..<5).map { site.placement(ofRank: $0) },
                       [.agent, .localProcess, .remote(host: "10.1.0.12"), .remote(host: "gpu-3.hospital.lan"), nil])
        XCTAssertEqual(site.rendezvous, SiteWorkers.Endpoint(host: "10.1.0.11", port: 29500))
        XCTAssertEqual((0..<4).map { site.interfaceHost(ofRank: $0) }, ["10.1.0.11", "10.1.0.11", "10.1.0.12", "gpu-3.hospital.lan"],
                       "the agent's machine talks over the rendezvous address, each remote worker over its own")
        XCTAssertEqual(site.timeoutSeconds, 60)
        XCTAssertEqual(site.name(ofRank: 3), "worker 3 (on gpu-3.hospital.lan)")
        XCTAssertEqual(site.name(ofRank: 1), "worker 1 (a process of the agent on this machine)")
        let remoteOnly = try workers("workers: {remote: [10.1.0.12], rendezvous: '[fd00::11]:29500'}")
        XCTAssertEqual(remoteOnly.local, 1)
        XCTAssertEqual(remoteOnly.rendezvous?.host, "fd00::11")
    }

    func testBadSettingsAreRefusedNamingTheField() {
        assertRefused("workers: 0", naming: "workers", saying: "from 1 to 64")
        assertRefused("workers: two", naming: "workers", saying: "a number of processes")
        assertRefused("workers: {local: 65}", naming: "workers.local", saying: "from 1 to 64")
        assertRefused("workers: {locals: 2}", naming: "workers.locals", saying: "not a known field")
        assertRefused("workers: {remote: [10.1.0.12]}", naming: "workers.rendezvous", saying: "is required with remote workers")
        assertRefused("workers: {local: 2, rendezvous: 10.1.0.11:29500}", naming: "workers.rendezvous", saying: "only used with remote workers")
        assertRefused("workers: {remote: [10.1.0.12], rendezvous: 127.0.0.1:29500}", naming: "workers.rendezvous", saying: "not a loopback")
        assertRefused("workers: {remote: [10.1.0.12], rendezvous: 10.1.0.11}", naming: "workers.rendezvous", saying: "host:port")
        assertRefused("workers: {remote: [10.1.0.12], rendezvous: 10.1.0.11:70000}", naming: "workers.rendezvous", saying: "1 to 65535")
        assertRefused("workers: {remote: ['']}", naming: "workers.remote", saying: "entry 1")
        assertRefused("workers: {local: 2, timeout_seconds: 0}", naming: "workers.timeout_seconds", saying: "between 1 and 86400")
    }

    func testAWorkersCopyOfSiteYAMLNeedsNoCoordinatorOrKey() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-workers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appending(path: "site.yaml").path
        try """
            data: {dir: data}
            threads: 1
            workers: {local: 1, remote: [10.1.0.12], rendezvous: 10.1.0.11:29500}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try SiteConfig(contentsOf: path, forWorker: true)
        XCTAssertEqual(config.workers.placement(ofRank: 1), .remote(host: "10.1.0.12"))
        XCTAssertEqual(config.threads, 1)
        XCTAssertThrowsError(try SiteConfig(contentsOf: path)) { XCTAssertTrue("\($0)".contains("field 'coordinator' is required"), "\($0)") }
    }
}

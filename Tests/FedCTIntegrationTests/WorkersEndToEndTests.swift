// Multi-process test of a data-parallel site over real gRPC and mTLS: one site trains its rounds in two worker processes
// (site.yaml workers: 2) beside a single-process site, with secure aggregation; the coordinator sees two sites, each round's
// model is exactly old + the weighted mean of the sites' updates, and the agent's worker process ends with the agent. A
// worker killed during a round fails that round with an error naming it, and the job still completes. A worker started
// by hand from a copy of site.yaml without coordinator or key joins over the TCP rendezvous (another machine's path).
import FedCTCore
import FedCTProto
import Foundation
import Glibc
import XCTest

final class WorkersEndToEndTests: XCTestCase {
    func testATwoWorkerSiteTakesPartInASecureJob() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6], seed: 31)
        let job = try await federation.submit(Fedct_V1_JobSpec.tiny(name: "workers", rounds: 2, minSites: 2))
        try federation.startSite("site-1", extra: "workers: 2\negress: {archive_updates: true}")
        try federation.startSite("site-2", extra: "egress: {archive_updates: true}")
        let status = try await federation.waitForEnd(job.jobID)
        let workerLog = (try? String(contentsOf: root.appending(path: "state-site-1/workers/worker-1.log"), encoding: .utf8)) ?? "(no worker log)"
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))\n\(workerLog)")
        XCTAssertEqual(status.rounds.map(\.securelyAggregated), [true, true])
        XCTAssertEqual(status.rounds.map { $0.sites.sorted() }, [names, names], "the coordinator sees one site-1, however many processes train it")

        // Each round's model is old + the weighted mean of both sites' clipped deltas (site-1's from its two workers).
        var before = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: job.initialModelSha256))
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        for record in status.rounds {
            let after = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: record.modelSha256))
            let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: Int(record.round), sites: names, before: before, after: after, encoding: encoding)
            XCTAssertEqual(Int64(check.totalWeight), record.exampleCount, "round \(record.round)")
            XCTAssertLessThanOrEqual(check.worst, check.bound, "round \(record.round) differs from old + weighted mean of the deltas")
            XCTAssertNotEqual(before.values, after.values)
            before = after
        }

        // Worker 1 trained both rounds' shares, and left once the agent had exited.
        let agentLog = harness.log("site-1")
        XCTAssertTrue(agentLog.contains("worker started"), agentLog)
        XCTAssertEqual(workerLog.components(separatedBy: "round trained").count - 1, 2, workerLog)
        let pidText = try XCTUnwrap(agentLog.components(separatedBy: "pid=").dropFirst().first?.prefix { $0.isNumber }, agentLog)
        let pid = try XCTUnwrap(pid_t(String(pidText)))
        let deadline = Date().addingTimeInterval(30)
        while kill(pid, 0) == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertNotEqual(kill(pid, 0), 0, "the worker process \(pid) must not outlive its agent")
    }

    func testAKilledWorkerFailsItsRoundNamingItAndTheJobGoesOn() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2", "site-3"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6, 6], seed: 37)
        var spec = Fedct_V1_JobSpec.tiny(name: "workers-crash", rounds: 3, minSites: 3)
        spec.roundDeadlineSeconds = 30
        spec.evaluation.enabled = false
        let job = try await federation.submit(spec)
        try federation.startSite("site-1", extra: "workers: {local: 2, timeout_seconds: 10}")
        try federation.startSite("site-2")
        try federation.startSite("site-3")
        // Kill the first worker as soon as the agent has started it: that round's join (or its training) fails.
        var pid: pid_t?
        let deadline = Date().addingTimeInterval(120)
        while pid == nil && Date() < deadline {
            pid = harness.log("site-1").components(separatedBy: "pid=").dropFirst().first.flatMap { pid_t(String($0.prefix { $0.isNumber })) }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTAssertEqual(kill(try XCTUnwrap(pid, harness.log("site-1")), SIGKILL), 0)
        let status = try await federation.waitForEnd(job.jobID, timeout: 300)
        let agentLog = harness.log("site-1")
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(agentLog)")
        XCTAssertTrue(agentLog.contains("round abandoned") && agentLog.contains("worker 1 (a process of the agent on this machine) exited (killed by signal 9)")
                      && agentLog.contains(root.appending(path: "state-site-1/workers/worker-1.log").path), agentLog)
        // The round site-1 abandoned went on without it; a later round has it back, with a fresh worker.
        let abandoned = agentLog.components(separatedBy: "\n").first { $0.contains("round abandoned") }?
            .components(separatedBy: "round=").dropFirst().first.flatMap { Int(String($0.prefix { $0.isNumber })) }
        let round = try XCTUnwrap(abandoned, agentLog)
        XCTAssertFalse(status.rounds[round - 1].sites.contains("site-1"), "round \(round): \(status.rounds[round - 1].sites)")
        XCTAssertTrue(status.rounds[round...].contains { $0.sites.contains("site-1") }, "site-1 back after round \(round): \(status.rounds.map(\.sites))")
        XCTAssertGreaterThanOrEqual(agentLog.components(separatedBy: "worker started").count - 1, 2, "a fresh worker after the failure: \(agentLog)")
        XCTAssertLessThan(harness.log("coordinator").components(separatedBy: "advertised keys after the key step closed").count, 40,
                          "the agent pauses before asking again after abandoning a round")
    }

    func testAWorkerStartedByHandJoinsOverTheTCPRendezvous() async throws {
        guard let address = Self.nonLoopbackIPv4() else { throw XCTSkip("no non-loopback IPv4 address to stand for another machine") }
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6], seed: 41)
        var spec = Fedct_V1_JobSpec.tiny(name: "remote-worker", rounds: 1, minSites: 2)
        spec.evaluation.enabled = false
        let job = try await federation.submit(spec)
        let workers = "workers: {local: 1, remote: [\(address)], rendezvous: \"\(address):\(try ProcessHarness.freePort())\", timeout_seconds: 60}"
        // The worker's copy of site.yaml: the same data folder and workers section, its own state, no coordinator, no key.
        let copy = try harness.write("data: {dir: data/site-1}\nthreads: 1\nstate_dir: state-worker\n\(workers)\n", to: "worker.yaml")
        try harness.start("fedct-site", ["worker", "--config", copy, "--rank", "1"], label: "worker")
        try federation.startSite("site-1", extra: "\(workers)\negress: {archive_updates: true}")
        try federation.startSite("site-2", extra: "egress: {archive_updates: true}")
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("site-1"))\n\(harness.log("worker"))")
        XCTAssertTrue(harness.log("worker").contains("round trained"), harness.log("worker"))
        let initial = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: job.initialModelSha256))
        let record = try XCTUnwrap(status.rounds.first)
        let stored = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: record.modelSha256))
        let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: 1, sites: names, before: initial, after: stored,
                                        encoding: try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2))
        XCTAssertLessThanOrEqual(check.worst, check.bound, "round 1 differs from old + weighted mean of the deltas")
    }

    /// An IPv4 address of this machine other than loopback, if it has one.
    private static func nonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var next = list
        while let entry = next {
            defer { next = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var inet = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            guard inet_ntop(AF_INET, &inet, &text, socklen_t(text.count)) != nil else { continue }
            let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !host.hasPrefix("127.") { return host }
        }
        return nil
    }
}

// Multi-process tests over real gRPC and mTLS with a FaultProxy between every site and the coordinator: latency with
// jitter, a rate limit, stalls, cut connections and a partition longer than keepalive; every round commits the exact sum.
import FedCTAdmin
import FedCTCore
import FedCTProto
import Foundation
import XCTest

final class NetworkFaultEndToEndTests: XCTestCase {
    /// A secure-aggregation job small enough for the test machine; faults make its rounds slow, not its training.
    private func spec(name: String, rounds: Int32, stepTimeout: Int32, roundDeadline: Int32, minSites: Int32 = 2) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = name
        spec.rounds = rounds
        spec.minSites = minSites
        spec.roundDeadlineSeconds = roundDeadline
        spec.encoder.width = 2
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.secureAggregation.clipNorm = 10
        spec.secureAggregation.maxExamplesPerSite = 64
        spec.secureAggregation.stepTimeoutSeconds = stepTimeout
        spec.evaluation.enabled = false
        return spec
    }

    func testJobCompletesThroughLatencyThrottlingStallsCutsAndAPartition() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2", "site-3", "site-4"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [6, 6, 6, 6], seed: 31)
        var proxies: [String: FaultProxy] = [:]
        for name in names { proxies[name] = try FaultProxy(targetPort: federation.port) }
        defer { proxies.values.forEach { $0.stop() } }
        // site-1: 200 ms ± 50 ms and 10 Mbit/s for the whole job; the others a little latency, site-2 also cut and stalled.
        proxies["site-1"]!.set(.init(latency: 0.2, jitter: 0.05, bytesPerSecond: 1_250_000))
        for name in ["site-2", "site-3", "site-4"] { proxies[name]!.set(.init(latency: 0.03, jitter: 0.02)) }
        // Rounds open with at least three live sites, so a round that loses the partitioned site keeps enough uploads.
        let job = try await federation.submit(spec(name: "network-faults", rounds: 10, stepTimeout: 5, roundDeadline: 25, minSites: 3))
        // The slow site first: its handshake crosses the slow link, and round 1 opens as soon as three sites are live.
        try federation.startSite("site-1", through: proxies["site-1"]!)
        let joinDeadline = Date().addingTimeInterval(90)
        while Date() < joinDeadline && !harness.log("coordinator").split(separator: "\n").contains(where: { $0.contains("site=site-1") && $0.contains("site joined") }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        for name in names.dropFirst() { try federation.startSite(name, through: proxies[name]!) }

        // site-2: its connections are cut every 6 s and stalled 1.5 s in between (shorter than the step timeout), whatever
        // it is doing — downloading, sharing keys, uploading; the coordinator's phase at each fault is recorded.
        let site2 = proxies["site-2"]!
        let admin = federation.admin
        let chaos = Task {
            var phases: [String] = []
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(3))
                site2.set(.init(latency: 0.03, jitter: 0.02, stalled: true))
                try? await Task.sleep(for: .seconds(1.5))
                site2.set(.init(latency: 0.03, jitter: 0.02))
                try? await Task.sleep(for: .seconds(1.5))
                site2.cut()
                if let status = try? await admin.job(job.jobID) {
                    phases.append("round \(status.currentRound): \(status.phase)")
                    if [.succeeded, .failed, .cancelled].contains(status.state) { break }
                }
            }
            return phases
        }

        // site-3: partitioned right after it shared its keys in a round with at least two other key holders (a dropout
        // whose masks the others rebuild; in a round of two, losing one leaves too few uploads and the protocol fails
        // the job), then excluded from rounds opening while it is silent, for longer than keepalive (30 s + 20 s), then healed.
        func sharedWithOthers(_ line: Substring) -> Bool {
            guard let senders = line.split(separator: " ").first(where: { $0.hasPrefix("share_senders=") })?
                .dropFirst("share_senders=".count).split(separator: ",") else { return false }
            return senders.contains("site-3") && senders.count >= 3
        }
        let partitionDeadline = Date().addingTimeInterval(180)
        while Date() < partitionDeadline && !harness.log("coordinator").split(separator: "\n").contains(where: sharedWithOthers) {
            try await Task.sleep(for: .milliseconds(20))
        }
        proxies["site-3"]!.partition()
        let partitionedAtRound = try await admin.job(job.jobID).rounds.count
        try await Task.sleep(for: .seconds(55))
        proxies["site-3"]!.heal()
        let healedAtRound = try await admin.job(job.jobID).rounds.count

        let status = try await federation.waitForEnd(job.jobID, timeout: 420)
        chaos.cancel()
        let phases = await chaos.value
        let coordinatorLog = harness.log("coordinator")
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(coordinatorLog.suffix(4000))")
        XCTAssertEqual(status.rounds.map(\.round), Array(1...10), "no round lost")
        try await assertEveryRoundIsTheExactWeightedMean(status, job: job, harness: harness, admin: admin, sites: names.count)

        XCTAssertTrue(status.rounds.allSatisfy { $0.sites.contains("site-1") }, "the slow site took part in every round: \(status.rounds.map(\.sites))")
        XCTAssertTrue(status.rounds.contains { $0.sites.contains("site-2") }, "site-2 contributed despite the cuts")
        let silent = status.rounds.filter { $0.round > partitionedAtRound + 1 && $0.round <= healedAtRound }
        XCTAssertFalse(silent.contains { $0.sites.contains("site-3") }, "site-3 contributed while partitioned: \(silent.map(\.sites))")
        XCTAssertTrue(status.rounds.contains { $0.droppedSites.contains("site-3") } || coordinatorLog.contains("sites left the round before masking"),
                      "site-3 was neither a dropout nor excluded at the key step")
        XCTAssertTrue(status.rounds.contains { $0.round > healedAtRound + 1 && $0.sites.contains("site-3") },
                      "site-3 rejoined after the partition healed (healed after round \(healedAtRound)): \(status.rounds.map(\.sites))\n\(harness.log("site-3").suffix(3000))")
        XCTAssertGreaterThan(proxies["site-2"]!.accepted, 1, "site-2 reconnected after cuts")
        print("network faults: site-2 faults during \(phases); site-3 partitioned after round \(partitionedAtRound), healed after round \(healedAtRound); rounds \(status.rounds.map { "\($0.round):\($0.sites.joined(separator: "+"))/dropped \($0.droppedSites)" })")
    }

    func testASiteWhoseTransfersOutlastTheStepTimeoutIsNotDropped() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2", "site-3"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [6, 6, 6], seed: 37)
        let stepTimeout: Int32 = 3
        // Every round waits for all three sites, so the slow site (which joins last: its handshake crosses the slow
        // link too) is a participant of both rounds; the test is whether it stays one while its transfers progress.
        let job = try await federation.submit(spec(name: "slow-link", rounds: 2, stepTimeout: stepTimeout, roundDeadline: 60, minSites: 3))
        // site-1's link carries the model (and its masked update, about the same size) in 2.5 step timeouts each way:
        // 10 Mbit/s scaled down to this test's small model.
        let modelBytes = try await federation.admin.fetchModel(sha256: job.initialModelSha256).count
        let transferSeconds = 2.5 * Double(stepTimeout)
        let slow = try FaultProxy(targetPort: federation.port)
        defer { slow.stop() }
        slow.set(.init(latency: 0.05, jitter: 0.02, bytesPerSecond: Double(modelBytes) / transferSeconds))
        try federation.startSite("site-1", through: slow)
        for name in ["site-2", "site-3"] {
            let direct = try FaultProxy(targetPort: federation.port)
            try federation.startSite(name, through: direct)
            addTeardownBlock { direct.stop() }
        }
        let status = try await federation.waitForEnd(job.jobID, timeout: 300)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator").suffix(4000))")
        XCTAssertEqual(status.rounds.map(\.sites), [names, names],
                       "the slow site is dropped from no round while its transfers progress\n\(harness.log("site-1").suffix(3000))")
        XCTAssertTrue(status.rounds.allSatisfy { $0.droppedSites.isEmpty }, "\(status.rounds.map(\.droppedSites))")
        XCTAssertGreaterThanOrEqual(slow.bytes(.down), 2 * modelBytes, "site-1 downloaded the model in both rounds")
        XCTAssertGreaterThanOrEqual(Double(slow.bytes(.up)), 1.8 * Double(modelBytes), "site-1 uploaded a masked update (the model's size) in both rounds")
        try await assertEveryRoundIsTheExactWeightedMean(status, job: job, harness: harness, admin: federation.admin, sites: names.count)
    }

    /// Each committed round's model is its base plus the weighted mean of its contributors' clipped local deltas (as they
    /// archived them), within the fixed-point bound, and its example count is the exact sum of their weights.
    func assertEveryRoundIsTheExactWeightedMean(_ status: Fedct_V1_JobStatus, job: Fedct_V1_JobStatus, harness: ProcessHarness, admin: AdminClient,
                                                sites: Int, file: StaticString = #filePath, line: UInt = #line) async throws {
        var base = try SafeTensors.decode(try await admin.fetchModel(sha256: job.initialModelSha256))
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: sites)
        for record in status.rounds {
            let stored = try SafeTensors.decode(try await admin.fetchModel(sha256: record.modelSha256))
            var weighted = [Double](repeating: 0, count: base.values.count)
            var total = 0.0
            for name in record.sites {
                let stem = harness.folder.appending(path: "state-\(name)/egress-archive/\(job.jobID)-round-\(record.round)")
                var stream = Float32Stream()
                var delta: [Float] = []
                stream.feed([UInt8](try Data(contentsOf: stem.appendingPathExtension("local.f32")))) { delta.append(contentsOf: $0) }
                let local = try JSONSerialization.jsonObject(with: Data(contentsOf: stem.appendingPathExtension("local.json"))) as? [String: Any]
                let weight = Double(try XCTUnwrap(local?["example_weight"] as? Int, file: file, line: line))
                let factor = encoding.clipFactor(delta).factor
                for index in delta.indices { weighted[index] += weight * factor * Double(delta[index]) }
                total += weight
            }
            XCTAssertEqual(Int64(total), record.exampleCount, "round \(record.round): the weights' sum", file: file, line: line)
            let bound = 2 / (encoding.scale * total)
            var worst = 0.0
            for index in weighted.indices {
                let expected = Double(base.values[index]) + weighted[index] / total
                worst = max(worst, abs(Double(stored.values[index]) - expected) - 1e-6 * max(1, abs(expected)))
            }
            XCTAssertLessThanOrEqual(worst, bound, "round \(record.round) differs from its sites' weighted mean by more than the quantisation bound",
                                     file: file, line: line)
            base = stored
        }
    }
}

// Multi-process test: the coordinator is SIGKILLed while a site's masked UploadUpdate is streaming into its spool; a
// coordinator restarted on the same port and state folder finishes the job with every round, the committed round
// unchanged, every stored model equal to old + weighted mean of the sites' last deltas, and no spool file left behind.
import FedCTCore
import FedCTCoordinator
import FedCTProto
import Foundation
import XCTest

final class CoordinatorCrashDuringUploadTests: XCTestCase {
    func testCoordinatorKilledDuringUploadResumesWithoutThePartialUpdate() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [6, 6], seed: 17)
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = "crash-during-upload"
        spec.rounds = 3
        spec.minSites = 2
        spec.roundDeadlineSeconds = 120
        // A wider encoder (≈ 2 M parameters, ≈ 8 MB masked upload) so each stream takes long enough to be caught.
        spec.encoder.width = 24
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.training.batchSize = 4
        spec.secureAggregation.clipNorm = 10
        spec.secureAggregation.maxExamplesPerSite = 64
        let job = try await federation.submit(spec).jobID
        for name in names { try federation.startSite(name, extra: "egress: {archive_updates: true}") }

        // Wait for round 1 to commit, then for a round-2 upload to appear in the spool while it is still incomplete.
        let spool = harness.folder.appending(path: "state/spool/\(job)/round-2")
        let initial = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: try await federation.admin.job(job).initialModelSha256))
        let fullBytes = (initial.values.count + 2) * 4  // weight, coordinates, loss
        var committed: [Fedct_V1_RoundRecord] = []
        var partial: (url: URL, bytes: Int)?
        let deadline = Date().addingTimeInterval(60)
        while partial == nil && Date() < deadline {
            if committed.isEmpty {
                if let status = try? await federation.admin.job(job), !status.rounds.isEmpty { committed = status.rounds }
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            let files = (try? FileManager.default.contentsOfDirectory(at: spool, includingPropertiesForKeys: [.fileSizeKey])) ?? []
            if let file = files.first, let size = try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize, size < fullBytes {
                kill(federation.coordinator.processIdentifier, SIGKILL)
                federation.coordinator.waitUntilExit()
                let left = (try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
                partial = (file, left)
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        let caught = try XCTUnwrap(partial, "no round-2 upload was caught in flight\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertEqual(committed.map(\.round), [1], "the kill must come after round 1 and before round 2 commits")
        XCTAssertLessThan(caught.bytes, fullBytes, "the spool file must be partial when the coordinator dies")

        try federation.restartCoordinator(label: "coordinator-2")
        var restarted: Fedct_V1_JobStatus?
        for _ in 0..<100 where restarted == nil {
            restarted = try? await federation.admin.job(job)
            if restarted == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertNotNil(restarted, "the restarted coordinator does not answer\n\(harness.log("coordinator-2"))")
        let final = try await federation.waitForEnd(job, timeout: 120)
        XCTAssertEqual(final.state, .succeeded, "\(final.message)\n\(harness.log("coordinator-2"))\n\(harness.log("site-1"))")
        XCTAssertEqual(final.rounds.map(\.round), [1, 2, 3])
        XCTAssertEqual(final.rounds.first, committed.first, "committed round 1 changed after the restart")
        XCTAssertTrue(harness.log("coordinator-2").contains("resuming job"), harness.log("coordinator-2"))
        for record in final.rounds {
            XCTAssertEqual(record.sites, names, "round \(record.round)")
            XCTAssertTrue(record.securelyAggregated, "round \(record.round)")
            XCTAssertEqual(record.droppedSites, [], "round \(record.round)")
        }
        XCTAssertEqual(Set(final.rounds.map(\.modelSha256)).count, 3, "every round must produce a new model")

        // Each stored model is the previous one plus the weighted mean of the clipped deltas the sites last sent for that
        // round (their local archives); a partial or stale masked input in the sum would put it far off.
        var previous = initial
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        for record in final.rounds {
            let stored = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: record.modelSha256))
            var weighted = [Double](repeating: 0, count: previous.values.count)
            var total = 0.0
            for name in names {
                let stem = harness.folder.appending(path: "state-\(name)/egress-archive/\(job)-round-\(record.round)")
                var stream = Float32Stream()
                var delta: [Float] = []
                stream.feed([UInt8](try Data(contentsOf: stem.appendingPathExtension("local.f32")))) { delta.append(contentsOf: $0) }
                XCTAssertEqual(delta.count, previous.values.count)
                let local = try JSONSerialization.jsonObject(with: Data(contentsOf: stem.appendingPathExtension("local.json"))) as? [String: Any]
                let weight = Double(try XCTUnwrap(local?["example_weight"] as? Int))
                let factor = encoding.clipFactor(delta).factor
                for index in delta.indices { weighted[index] += weight * factor * Double(delta[index]) }
                total += weight
            }
            XCTAssertEqual(Int64(total), record.exampleCount, "round \(record.round)")
            let bound = 2 / (encoding.scale * total)
            var worst = 0.0
            for index in weighted.indices {
                let expected = Double(previous.values[index]) + weighted[index] / total
                worst = max(worst, abs(Double(stored.values[index]) - expected) - 1e-6 * max(1, abs(expected)))
            }
            XCTAssertLessThanOrEqual(worst, bound, "round \(record.round): stored model is not old + weighted mean of the sites' last deltas")
            previous = stored
        }

        // Round 2 was re-run from scratch: each site uploaded its round-2 masked update twice (once into the dead
        // coordinator, once after the restart with fresh keys), and nothing is left in the spool.
        var reuploads = 0
        for name in names {
            let ledger = try String(contentsOf: harness.folder.appending(path: "state-\(name)/egress.jsonl"), encoding: .utf8)
            let uploads = ledger.split(separator: "\n").filter { $0.contains("\"kind\":\"masked-update\"") }.count
            XCTAssertGreaterThanOrEqual(uploads, 3, "\(name): one masked upload per committed round at least")
            reuploads += uploads - 3
        }
        XCTAssertGreaterThanOrEqual(reuploads, 1, "the upload cut off by the kill must have been sent again")
        let leftovers = FileManager.default.enumerator(at: harness.folder.appending(path: "state/spool"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { ["u32", "f32"].contains($0.pathExtension) } ?? []
        XCTAssertEqual(leftovers.map(\.lastPathComponent), [], "no spool file may outlive its round (the partial one included)")
    }
}

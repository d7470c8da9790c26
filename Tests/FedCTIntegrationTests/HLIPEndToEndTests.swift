// Multi-process test of HLIP over real gRPC and mTLS: two sites train language–image pretraining on their multi-series
// studies and reports with secure aggregation; the round's model is the exact weighted mean, and nothing of the reports
// leaves a site.
import FedCTCore
import FedCTProto
import Foundation
import XCTest

final class HLIPEndToEndTests: XCTestCase {
    /// A small HLIP job on 16³ scans: studies of two scans (scan and study attention), a one-block text tower.
    static func tinyHLIP(rounds: Int32) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.tiny(name: "hlip", rounds: rounds, minSites: 2)
        spec.objective = "hlip"
        spec.encoder.architecture = "none"
        spec.hlip.dim = 12
        spec.hlip.depth = 2
        spec.hlip.heads = 2
        spec.hlip.patch = [8, 8, 8]
        spec.hlip.pattern = ["scan", "study"]
        spec.hlip.scansPerStudy = 2
        spec.hlip.textWidth = 16
        spec.hlip.textDepth = 1
        spec.hlip.textHeads = 2
        spec.hlip.contextLength = 96
        spec.hlip.embedDim = 8
        return spec
    }

    func testHLIPJobAggregatesSecurelyAndNoReportTextLeaves() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6], seed: 19, seriesPerStudy: 3)
        let job = try await federation.submit(Self.tinyHLIP(rounds: 2))
        for name in names { try federation.startSite(name, extra: "egress: {archive_updates: true}") }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertEqual(status.rounds.map(\.securelyAggregated), [true, true])
        XCTAssertTrue(status.rounds.allSatisfy { $0.meanTrainLoss.isFinite && $0.meanTrainLoss > 0 }, "\(status.rounds.map(\.meanTrainLoss))")

        // The model is HLIP's two towers and the SigLIP temperature and bias; round 1 is old + weighted mean of the deltas.
        let initial = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: job.initialModelSha256))
        let first = try XCTUnwrap(status.rounds.first)
        let stored = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: first.modelSha256))
        let parameters = Set(initial.layout.map(\.name))
        XCTAssertTrue(["visual.patch_embed.proj.weight", "visual.cls_token", "visual.proj.weight", "text.token_embedding.weight", "logit_scale", "logit_bias"]
            .allSatisfy(parameters.contains), "\(parameters.sorted())")
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: 1, sites: names, before: initial, after: stored, encoding: encoding)
        XCTAssertEqual(Int64(check.totalWeight), first.exampleCount, "one example per study")
        XCTAssertLessThanOrEqual(check.worst, check.bound, "round 1 differs from the sites' weighted mean by more than the quantisation bound")

        // Every archived outbound message and payload: masked words or protocol metadata (metric names such as
        // zeroshot_auroc/effusion included), never a line of a report or words only reports use.
        let reportOnlyWords = ["pleural", "lobe", "EXAMINATION", "FINDINGS", "IMPRESSION", "INDICATION"]
        for name in names {
            let reports = root.appending(path: "data/\(name)/reports")
            let lines = try FileManager.default.contentsOfDirectory(atPath: reports.path).flatMap { file in
                try String(contentsOf: reports.appending(path: file), encoding: .utf8).split(separator: "\n").map(String.init).filter { $0.count >= 12 }
            }
            XCTAssertGreaterThan(lines.count, 50, name)
            let archive = root.appending(path: "state-\(name)/egress-archive")
            let payloads = try FileManager.default.contentsOfDirectory(atPath: archive.appending(path: "payloads").path)
            XCTAssertFalse(payloads.isEmpty, name)
            XCTAssertTrue(payloads.allSatisfy { $0.hasSuffix(".u32") }, "\(name): only masked update payloads left: \(payloads)")
            for folder in ["messages", "payloads"] {
                for file in try FileManager.default.contentsOfDirectory(atPath: archive.appending(path: folder).path) {
                    let bytes = try Data(contentsOf: archive.appending(path: "\(folder)/\(file)"))
                    for text in reportOnlyWords + lines where bytes.range(of: Data(text.utf8)) != nil {
                        XCTFail("\(name): \(folder)/\(file) carries '\(text)'")
                    }
                }
            }
        }
        let ca = root.appending(path: "pki/site-1/ca.pem").path
        let verified = try harness.run("fedctl", ["audit", "verify", root.appending(path: "state-site-1").path, "--ca", ca])
        XCTAssertEqual(verified.status, 0, verified.output)
        XCTAssertTrue(harness.log("site-1").contains("round trained and uploaded"))
    }
}

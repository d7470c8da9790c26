// Multi-process test of MEDFORM stage 1 over real gRPC and mTLS: two sites train SimCLR on their scans' axial slices with
// secure aggregation; the round's model is the exact weighted mean of the sites' updates, and only masked words leave.
import FedCTCore
import FedCTProto
import Foundation
import XCTest

final class MEDFORMEndToEndTests: XCTestCase {
    /// A small MEDFORM stage-1 job on 32³ inputs: a width-4 ResNet-18, a 16-wide head, 4 slices per scan.
    static func tinyMEDFORM(rounds: Int32) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.tiny(name: "medform", rounds: rounds, minSites: 2)
        spec.objective = "medform"
        spec.encoder.architecture = "none"
        spec.training.volumeSize = 32
        spec.medform.sliceEncoderWidth = 4
        spec.medform.projectionDim = 16
        spec.medform.slicesPerScan = 4
        return spec
    }

    func testMEDFORMJobAggregatesSecurelyAndOnlyMaskedWordsLeave() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6], seed: 23)
        let job = try await federation.submit(Self.tinyMEDFORM(rounds: 2))
        for name in names { try federation.startSite(name, extra: "egress: {archive_updates: true}") }
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertEqual(status.rounds.map(\.securelyAggregated), [true, true])
        XCTAssertTrue(status.rounds.allSatisfy { $0.meanTrainLoss.isFinite && $0.meanTrainLoss > 0 }, "\(status.rounds.map(\.meanTrainLoss))")

        // The model is the slice ResNet (BatchNorm statistics included) and the SimCLR head; round 1 is old + weighted mean.
        let initial = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: job.initialModelSha256))
        let first = try XCTUnwrap(status.rounds.first)
        let stored = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: first.modelSha256))
        let parameters = Set(initial.layout.map(\.name))
        XCTAssertTrue(["slice_encoder.conv1.weight", "slice_encoder.layer4.1.bn2.running_var", "projection.0.weight", "projection.2.weight"]
            .allSatisfy(parameters.contains), "\(parameters.sorted())")
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: 1, sites: names, before: initial, after: stored, encoding: encoding)
        XCTAssertEqual(Int64(check.totalWeight), first.exampleCount, "one example per scan")
        XCTAssertLessThanOrEqual(check.worst, check.bound, "round 1 differs from the sites' weighted mean by more than the quantisation bound")

        for name in names {
            let payloads = try FileManager.default.contentsOfDirectory(atPath: root.appending(path: "state-\(name)/egress-archive/payloads").path)
            XCTAssertFalse(payloads.isEmpty, name)
            XCTAssertTrue(payloads.allSatisfy { $0.hasSuffix(".u32") }, "\(name): only masked update payloads left: \(payloads)")
        }
        let ca = root.appending(path: "pki/site-1/ca.pem").path
        let verified = try harness.run("fedctl", ["audit", "verify", root.appending(path: "state-site-1").path, "--ca", ca])
        XCTAssertEqual(verified.status, 0, verified.output)
    }

    /// `fedctl model init` on the example job, then `fedctl model export`: the slice encoder alone, torchvision's names.
    func testFedctlInitialisesAndExportsTheExampleJob() throws {
        let harness = try ProcessHarness()
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Deployments/examples/job-medform.yaml").standardized
        let initial = harness.folder.appending(path: "initial.safetensors").path, exported = harness.folder.appending(path: "torchvision.safetensors").path
        let initialised = try harness.run("fedctl", ["model", "init", "--job-spec", example.path, "--out", initial])
        XCTAssertEqual(initialised.status, 0, initialised.output)
        let export = try harness.run("fedctl", ["model", "export", "--model", initial, "--out", exported])
        XCTAssertEqual(export.status, 0, export.output)
        XCTAssertTrue(export.output.contains("MEDFORM slice encoder, 100 tensors with torchvision's ResNet names"), export.output)
        let state = try SafeTensors.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: exported))), source: exported)
        XCTAssertEqual(state.metadata["format"], "torchvision_resnet_medform")
        XCTAssertEqual(state.layout.first, TensorLayout(name: "conv1.weight", shape: [64, 1, 7, 7]))
        XCTAssertFalse(state.layout.contains { $0.name.hasPrefix("projection") || $0.name.hasPrefix("fc") })
    }
}

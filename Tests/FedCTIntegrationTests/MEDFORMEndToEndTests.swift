// Multi-process tests of MEDFORM over real gRPC and mTLS: two sites train SimCLR on their scans' axial slices with secure
// aggregation (the round's model is the exact weighted mean of the sites' updates, and only masked words leave); then a
// stage-2 job starts from that job's model, derives its clinical standardisation from secure sums, and trains.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTraining
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

    /// The stage-2 job on top of `stage1`'s model: its slice encoder, a width-4 MIL, bags of 4 slices, 3 clinical columns.
    static func tinyStage2(rounds: Int32, stage1: String, job: String) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.tiny(name: "medform-2", rounds: rounds, minSites: 2)
        spec.objective = "medform"
        spec.encoder.architecture = "none"
        spec.training.volumeSize = 32
        spec.medform.stage = 2
        spec.medform.stage1ModelSha256 = stage1
        spec.medform.stage1Job = job
        spec.medform.sliceEncoderWidth = 4
        spec.medform.attentionHidden = 4
        spec.medform.bagSlices = 4
        spec.medform.clinicalColumns = ["age", "bmi", "spo2"]
        return spec
    }

    func testStage2StartsFromStage1AndStandardisesBySecureSums() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [8, 6], seed: 29)
        let first = try await federation.submit(Self.tinyMEDFORM(rounds: 1))
        for name in names { try federation.startSite(name, extra: "egress: {archive_updates: true}", exitAfterJob: false) }
        let stage1 = try await federation.waitForEnd(first.jobID)
        XCTAssertEqual(stage1.state, .succeeded, "\(stage1.message)\n\(harness.log("coordinator"))")
        let stage1Model = try XCTUnwrap(stage1.rounds.last?.modelSha256)

        // A stage-2 job naming a model the coordinator does not store is refused at submission, naming the field.
        do {
            _ = try await federation.admin.submit(Self.tinyStage2(rounds: 1, stage1: String(repeating: "0", count: 64), job: first.jobID))
            XCTFail("a stage-2 job without its stage-1 model was accepted")
        } catch {
            XCTAssertTrue("\(error)".contains("field 'medform.stage1_model_sha256'"), "\(error)")
        }
        let job = try await federation.submit(Self.tinyStage2(rounds: 1, stage1: stage1Model, job: first.jobID))
        XCTAssertTrue(job.initialModelSha256.isEmpty, "the model comes after the setup stage")
        let status = try await federation.waitForEnd(job.jobID)
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")

        // The setup stage: securely summed, its means and standard deviations those of the pooled train rows.
        XCTAssertTrue(status.setup.securelyAggregated)
        XCTAssertEqual(status.setup.sites, names)
        let columns = status.spec.medform.clinicalColumns
        var pooled: [[Double]] = Array(repeating: [], count: columns.count)
        for name in names {
            let folder = root.appending(path: "data/\(name)").path
            let manifest = try CohortManifest(path: "\(folder)/cohort.csv")
            let table = try ClinicalTable(directory: folder, columns: columns)
            for entry in manifest.entries where entry.split == .train {
                for (column, value) in try table.values(for: entry, manifest: manifest.path).enumerated() { if let value { pooled[column].append(value) } }
            }
        }
        XCTAssertEqual(Int(status.setup.patients), try names.map { try CohortManifest(path: root.appending(path: "data/\($0)/cohort.csv").path).entries.filter { $0.split == .train }.count }.reduce(0, +))
        for (column, values) in pooled.enumerated() {
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            XCTAssertEqual(status.spec.medform.clinicalMean[column], mean, accuracy: 1e-5 * max(1, abs(mean)), columns[column])
            XCTAssertEqual(status.spec.medform.clinicalStd[column], std, accuracy: 1e-5 * max(1, std), columns[column])
        }

        // The initial model's slice encoder is stage 1's; round 1 is old + weighted mean, the frozen encoder unchanged.
        let stage1State = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: stage1Model))
        let initial = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: status.initialModelSha256))
        let round = try XCTUnwrap(status.rounds.first)
        let stored = try SafeTensors.decode(try await federation.admin.fetchModel(sha256: round.modelSha256))
        XCTAssertEqual(initial.values(under: "slice_encoder."), stage1State.values(under: "slice_encoder."))
        XCTAssertEqual(stored.values(under: "slice_encoder."), stage1State.values(under: "slice_encoder."))
        XCTAssertNotEqual(stored.values(under: "mil."), initial.values(under: "mil."))
        XCTAssertTrue(round.meanTrainLoss.isFinite && round.meanTrainLoss > 0)
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        let check = try SecureMeanCheck(root: root, jobID: job.jobID, round: 1, sites: names, before: initial, after: stored, encoding: encoding)
        XCTAssertLessThanOrEqual(check.worst, check.bound, "round 1 differs from the sites' weighted mean by more than the quantisation bound")

        // Only masked words left the sites: the setup vector as one masked vector, updates as masked payloads.
        for name in names {
            let ledger = try String(contentsOf: root.appending(path: "state-\(name)/egress.jsonl"), encoding: .utf8)
            XCTAssertEqual(ledger.components(separatedBy: "\"setup-masked\"").count - 1, 1, "\(name): one masked clinical vector")
            XCTAssertFalse(ledger.contains("setup-counts"), "\(name): no plain setup counts")
            let payloads = try FileManager.default.contentsOfDirectory(atPath: root.appending(path: "state-\(name)/egress-archive/payloads").path)
            XCTAssertTrue(payloads.allSatisfy { $0.hasSuffix(".u32") }, "\(name): only masked payloads left: \(payloads)")
        }
        // `fedctl job status` shows the link and the derived statistics.
        let shown = try harness.run("fedctl", ["job", "status", "--coordinator", federation.address, "--credentials", root.appending(path: "pki/admin").path, job.jobID])
        XCTAssertEqual(shown.status, 0, shown.output)
        XCTAssertTrue(shown.output.contains("starts from stage-1 model \(stage1Model) (job \(first.jobID))"), shown.output)
        XCTAssertTrue(shown.output.contains("clinical standardisation over"), shown.output)

        // `fedctl model init` builds the same initial model offline, given the stage-1 model file (and refuses without it).
        let statusJSON = root.appending(path: "stage2.json").path, stage1File = root.appending(path: "stage1.safetensors").path
        let initFile = root.appending(path: "init.safetensors").path
        try status.jsonString().write(toFile: statusJSON, atomically: true, encoding: .utf8)
        try Data(try await federation.admin.fetchModel(sha256: stage1Model)).write(to: URL(fileURLWithPath: stage1File))
        let refused = try harness.run("fedctl", ["model", "init", "--job-spec", statusJSON, "--out", initFile])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("field 'medform.stage1_model_sha256'") && refused.output.contains("--starting-model"), refused.output)
        let offline = try harness.run("fedctl", ["model", "init", "--job-spec", statusJSON, "--starting-model", stage1File, "--out", initFile])
        XCTAssertEqual(offline.status, 0, offline.output)
        let rebuilt = try SafeTensors.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: initFile))), source: initFile)
        XCTAssertEqual(rebuilt.layout, initial.layout)
        XCTAssertEqual(rebuilt.values, initial.values, "the coordinator's initial model: the stage-1 slice encoder, the job's seed for the rest")
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

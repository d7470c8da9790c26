// MEDFORM stage 2 above the bridge: the clinical standardisation from exact secure sums, the clinical table's errors, the
// example job, the setup stage and the start from a stage-1 model, local training on a site's scans, and refusals.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import XCTest

final class MEDFORMStage2Tests: XCTestCase {
    private func example() throws -> Fedct_V1_JobSpec { try MEDFORMObjectiveTests.example("job-medform-stage2.yaml") }

    private func refusal(_ spec: Fedct_V1_JobSpec) -> String? { MEDFORMObjectiveTests.refusal(spec) }

    /// The example stage-2 job shrunk to 32³ scans, a width-8 ResNet-18 and bags of 4 slices.
    private func small() throws -> Fedct_V1_JobSpec {
        var spec = try example()
        spec.training.volumeSize = 32
        spec.training.batchSize = 4
        spec.training.gradientAccumulation = 1
        spec.medform.sliceEncoderWidth = 8
        spec.medform.attentionHidden = 8
        spec.medform.bagSlices = 4
        return spec
    }

    func testSecureSumsGiveThePooledMeanAndStandardDeviation() throws {
        // Three sites' values of three columns (nil: missing), negative and large ones included.
        var random = SeededGenerator(seed: 11)
        let sites: [[[Double?]]] = [40, 25, 7].map { scans in
            (0..<scans).map { _ in
                [65 + 12 * random.normal(), random.uniform() < 0.2 ? nil : -3 + 2 * random.normal(), random.uniform() < 0.1 ? nil : 900_000 + 5_000 * random.normal()]
            }
        }
        let vectors = try sites.map { try ClinicalMoments.encode($0, columns: 3) }
        XCTAssertTrue(vectors.allSatisfy { $0.count == ClinicalMoments.count(columns: 3) && $0.allSatisfy { $0 <= SetupEncoding.maxValue } })
        // The secure sum is the element-wise sum of the sites' vectors.
        let sum = (0..<vectors[0].count).map { index in vectors.map { $0[index] }.reduce(0, +) }
        let derived = try ClinicalMoments.statistics(sum, columns: ["a", "b", "c"])
        XCTAssertEqual(derived.scans, 72)
        for column in 0..<3 {
            let pooled = sites.flatMap { $0.compactMap { $0[column] } }
            let mean = pooled.reduce(0, +) / Double(pooled.count)
            let std = (pooled.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(pooled.count)).squareRoot()
            XCTAssertEqual(derived.mean[column], mean, accuracy: 1e-5 * max(1, abs(mean)), "column \(column) mean")
            XCTAssertEqual(derived.std[column], std, accuracy: 1e-5 * max(1, std), "column \(column) standard deviation")
        }
        // A constant column standardises to 0 (standard deviation 1); a column nobody has is refused by name.
        let constant = try ClinicalMoments.statistics(try ClinicalMoments.encode([[2.5], [2.5]], columns: 1), columns: ["x"])
        XCTAssertEqual(constant.mean, [2.5])
        XCTAssertEqual(constant.std, [1])
        XCTAssertThrowsError(try ClinicalMoments.statistics(try ClinicalMoments.encode([[nil], [nil]], columns: 1), columns: ["spo2"])) {
            XCTAssertTrue("\($0)".contains("'spo2'"), "\($0)")
        }
        XCTAssertEqual(ClinicalMoments.standardised([70, nil], mean: [65, 1], std: [10, 2]), [0.5, 0, 0, 1])
    }

    func testFewShotProbesScoreByHand() throws {
        // One feature; one training scan per class (+1, −1): the probe predicts positive for x > 0. Held out: positives
        // at 2 and −0.5, negatives at −2 and 0.5 — AUROC 3/4 (−0.5 < 0.5), one of each class right: balanced accuracy
        // ½, F1 = 2·1 / (2·1 + 1 + 1) = ½. k = 5 and 10 need more training scans: no value.
        let scores = FewShotEvaluation.scores(train: [[1], [-1], [0.3]], trainLabels: [true, false, nil], heldout: [[2], [-0.5], [-2], [0.5], [9]],
                                              heldoutLabels: [true, true, false, false, nil], label: BinaryOutcome.lungCancer.name, l2: 1)
        XCTAssertEqual(scores.map(\.name), EvaluationReport.fewShotLabelNames("lung_cancer_12m"))
        let byName = Dictionary(uniqueKeysWithValues: scores.map { ($0.name, $0) })
        XCTAssertEqual(try XCTUnwrap(byName["fewshot_auroc/lung_cancer_12m/k1"]?.value), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(byName["fewshot_balanced_accuracy/lung_cancer_12m/k1"]?.value), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(byName["fewshot_f1/lung_cancer_12m/k1"]?.value), 0.5, accuracy: 1e-12)
        XCTAssertEqual(byName["fewshot_auroc/lung_cancer_12m/k1"]?.scans, 4, "the censored held-out scan is left out")
        XCTAssertEqual(byName["fewshot_auroc/lung_cancer_12m/k1"]?.positives, 2)
        XCTAssertNil(byName["fewshot_auroc/lung_cancer_12m/k5"]?.value)
        // Separable embeddings: every score 1 at k = 10, over the five folds' different draws.
        var random = SeededGenerator(seed: 2)
        let labels = (0..<60).map { $0 % 3 == 0 }
        let rows = labels.map { label in [label ? 2 + random.normal() * 0.3 : -2 + random.normal() * 0.3, random.normal()] }
        let separable = FewShotEvaluation.scores(train: Array(rows[..<40]), trainLabels: labels[..<40].map { $0 }, heldout: Array(rows[40...]),
                                                 heldoutLabels: labels[40...].map { $0 }, label: BinaryOutcome.lungCancer.name, l2: 1)
        for score in separable where score.name.hasSuffix("/k10") { XCTAssertEqual(try XCTUnwrap(score.value), 1, accuracy: 1e-12, score.name) }
    }

    func testClinicalTableErrorsNameFileLineAndColumn() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-clinical-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticConsortium(patientsPerSite: [4], volumeSize: 16, seed: 3).write(to: folder)
        let site = folder.appending(path: "site-1").path, path = "\(site)/clinical.csv"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(try ClinicalTable(directory: site, columns: ["age", "bmi"]).rows.count, 4)
        XCTAssertThrowsError(try ClinicalTable(directory: site, columns: ["age", "lactate"])) {
            XCTAssertTrue("\($0)".contains("clinical.csv: no column 'lactate'"), "\($0)")
        }
        var fields = lines[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[3] = "obese"
        lines[2] = fields.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ClinicalTable(directory: site, columns: ["age", "bmi"])) {
            XCTAssertTrue("\($0)".contains("clinical.csv:3: column 'bmi' is 'obese', not a finite number"), "\($0)")
        }
        // The preflight lists it, with the file and line, as a warning (only a job reading clinical columns stops there).
        let report = DataPreflight(directory: site).run()
        let problem = try XCTUnwrap(report.problems.first { $0.message.contains("column 'bmi'") }, "\(report.problems)")
        XCTAssertEqual(problem.line, 3)
        XCTAssertEqual(problem.severity, .warning)
        XCTAssertTrue(problem.file.hasSuffix("clinical.csv"))
        fields[3] = "2e7"
        lines[2] = fields.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ClinicalTable(directory: site, columns: ["bmi"])) { XCTAssertTrue("\($0)".contains(":3: column 'bmi' is 2e7, beyond"), "\($0)") }
    }

    func testSetupStageStartFromStage1AndLocalTraining() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-medform2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticConsortium(patientsPerSite: [10, 8], volumeSize: 32, seed: 3).write(to: folder)
        let sites = ["site-1", "site-2"].map { folder.appending(path: $0).path }
        var spec = try small()
        XCTAssertNil(refusal(spec))
        let objective = try PretrainingObjectives.of(spec)
        XCTAssertTrue(objective.awaitsSetup(spec))

        // The setup stage: each site's vector, their sum, the derivation; equal to the pooled train rows' statistics.
        var derivation = try XCTUnwrap(objective.setupDerivation(for: spec))
        let step = try XCTUnwrap(derivation.steps.first)
        XCTAssertEqual(derivation.steps.count, 1)
        let request = derivation.request(for: step)
        XCTAssertEqual(request.names, [], "the columns are the spec's; sites count no published names")
        let answers = try sites.map { site -> [UInt64] in
            guard case .counts(let values) = try objective.siteSetup(for: spec, dataDirectory: site).answer(step, request: request) else { throw FedCTError(.protocolViolation, "a counts step answered with names") }
            XCTAssertEqual(values.count, derivation.valueCount(for: step))
            return values
        }
        try derivation.combine(step, names: [], sum: (0..<answers[0].count).map { answers[0][$0] + answers[1][$0] })
        var record = Fedct_V1_SetupRecord()
        try derivation.derive(into: &spec, record: &record)
        XCTAssertFalse(objective.awaitsSetup(spec))
        var pooled: [[Double]] = Array(repeating: [], count: 9)
        var trainScans = 0
        for site in sites {
            let manifest = try CohortManifest(path: "\(site)/cohort.csv")
            let table = try ClinicalTable(directory: site, columns: spec.medform.clinicalColumns)
            for entry in manifest.entries where entry.split == .train {
                trainScans += 1
                for (column, value) in try table.values(for: entry, manifest: manifest.path).enumerated() { if let value { pooled[column].append(value) } }
            }
        }
        XCTAssertEqual(record.patients, Int64(trainScans), "the train scans of both sites")
        for column in 0..<9 {
            let mean = pooled[column].reduce(0, +) / Double(pooled[column].count)
            XCTAssertEqual(spec.medform.clinicalMean[column], mean, accuracy: 1e-5 * max(1, abs(mean)), spec.medform.clinicalColumns[column])
        }
        XCTAssertNil(refusal(spec), "the derived fields fit the spec")

        // The initial model starts from the stage-1 model: its slice encoder, the job's seed for the rest.
        var stage1Spec = Fedct_V1_JobSpec.defaults
        stage1Spec.objective = "medform"
        stage1Spec.encoder.architecture = "none"
        stage1Spec.medform.sliceEncoderWidth = 8
        stage1Spec.seed = 99
        let stage1 = try TorchModel(spec: stage1Spec).state()
        let blob = SafeTensors.encode(stage1)
        spec.medform.stage1ModelSha256 = String(repeating: "ab", count: 32)  // the blob's address at a coordinator
        let model = try objective.initialModel(for: spec) { sha in
            guard sha == spec.medform.stage1ModelSha256 else { throw FedCTError(.notFound, "no model \(sha)") }
            return blob
        }
        let state = try model.state()
        let stage1Encoder = stage1.values(under: "slice_encoder.")
        let stage2Encoder = state.values(under: "slice_encoder.")
        XCTAssertEqual(stage2Encoder, stage1Encoder)
        XCTAssertTrue(state.layout.contains { $0.name == "clinical_encoder.2.weight" && $0.shape == [64, 18] })

        // A site's examples carry the standardised clinical vector; a round trains the MIL and clinical parts only.
        let dataset = try SiteDataset.load(directory: sites[0], recipe: objective.siteExamples(for: spec), preprocessing: spec.preprocessingPipeline)
        let clinical = try XCTUnwrap(dataset.train.first?.targets["clinical"])
        XCTAssertEqual(clinical.count, 18)
        XCTAssertTrue(clinical[9...].allSatisfy { $0 == 0 || $0 == 1 }, "missing indicators")
        XCTAssertTrue((dataset.train + dataset.heldout).allSatisfy { $0.report?.isEmpty == false }, "the generator names each scan's report (report_path), which a scan example reads")
        var trainer = LocalTrainer(training: spec.training)
        trainer.epochs = 1
        let result = try trainer.train(model, on: dataset.train, seed: 4)
        XCTAssertTrue(result.meanLoss.isFinite && result.meanLoss > 0, "\(result.meanLoss)")
        let after = try model.state()
        XCTAssertEqual(after.values(under: "slice_encoder."), stage1Encoder, "the frozen slice encoder stays the stage-1 one")
        XCTAssertNotEqual(after.values(under: "mil."), state.values(under: "mil."))
        let embeddings = try trainer.embed(model, dataset.heldout)
        XCTAssertTrue(embeddings.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isFinite) })
        // The site's evaluation adds the few-shot scores (valued or suppressed), and the coordinator accepts the report.
        let report = try SiteEvaluation.evaluate(model: model, trainer: trainer, dataset: dataset, minCohort: 1, l2: 1)
        XCTAssertTrue(EvaluationReport.fewShotNames.allSatisfy { report.metrics[$0] != nil || report.suppressed.contains($0) }, "\(report)")
        XCTAssertNoThrow(try EvaluationReport.validate(report, from: "site-1", minCohort: 1))

        // A stage-1 model of another width does not fit, and the error names the field.
        spec.medform.sliceEncoderWidth = 16
        XCTAssertThrowsError(try objective.initialModel(for: spec) { _ in blob }) {
            XCTAssertTrue("\($0)".contains("field 'medform.stage1_model_sha256'") && "\($0)".contains("slice_encoder_width"), "\($0)")
        }
    }

    func testRefusalsNameTheField() throws {
        let cases: [(String, (inout Fedct_V1_JobSpec) -> Void)] = [
            ("medform.stage1_model_sha256", { $0.medform.clearStage1ModelSha256() }),
            ("medform.stage1_model_sha256", { $0.medform.stage1ModelSha256 = "abc" }),
            ("medform.clinical_columns", { $0.medform.clinicalColumns = [] }),
            ("medform.clinical_columns", { $0.medform.clinicalColumns = ["age", "age"] }),
            ("medform.clinical_columns", { $0.medform.clinicalColumns = ["scan_id"] }),
            ("medform.clinical_mean", { $0.medform.clinicalMean = [1, 2] }),
            ("medform.clinical_std", { $0.medform.clinicalMean = Array(repeating: 0, count: 9); $0.medform.clinicalStd = Array(repeating: 0, count: 9) }),
            ("medform.attention_hidden", { $0.medform.attentionHidden = 0 }),
            ("medform.bag_slices", { $0.medform.bagSlices = 0 }),
            ("medform.temperature", { $0.medform.temperature = 0 }),
            ("medform.slice_encoder", { $0.medform.sliceEncoder = "resnet34" }),
            ("training.batch_size", { $0.training.batchSize = 1; $0.training.gradientAccumulation = 1 }),
        ]
        for (field, change) in cases {
            var spec = try example()
            change(&spec)
            XCTAssertTrue(refusal(spec)?.contains("field '\(field)'") == true, "\(field): \(refusal(spec) ?? "accepted")")
        }
        let spec = try example()
        let config = try MEDFORMAlignmentConfig(spec.medform, source: "job")
        XCTAssertEqual(config.temperature, 0.01)
        XCTAssertEqual(config.clinicalFeatures, 18)
        XCTAssertTrue(config.freezeSliceEncoder)
        XCTAssertEqual(spec.medform.stage1Job, "job-0001")
    }
}

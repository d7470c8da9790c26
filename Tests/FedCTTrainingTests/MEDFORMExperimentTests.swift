// Tests of MEDFORM's experiment table: few-shot tasks on lung cancer and ground-truth findings, scored by hand; the
// in-process clinical setup; each arm's stage 2 starting from its own stage-1 model; a tiny run of every arm.
@testable import FedCTCore
@testable import FedCTData
@testable import FedCTExperiment
import FedCTProto
import FedCTTorch
@testable import FedCTTraining
import Foundation
import Synchronization
import XCTest

final class MEDFORMExperimentTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// Scans without images: `cancer` nil is censored before a year, true a C34 diagnosis at day 100.
    private func scans(_ prefix: String, cancer: [Bool?]) -> [SiteExample] {
        cancer.enumerated().map { index, status in
            SiteExample(scanID: "\(prefix)-\(index)", subjectID: "\(prefix)-\(index)", inputs: [[]], targets: [:],
                        firstEventDays: status == true ? ["ICD10/C34": 100] : [:], followUpDays: status == nil ? 200 : 400)
        }
    }

    /// A ground_truth.csv giving scans effusion (0.5) or none (0), no other finding.
    private func groundTruth(effusion: [String: Bool]) throws -> SyntheticGroundTruth {
        let hazards = SyntheticOutcome.all.map { _ in "0.1" }.joined(separator: ",")
        var text = SyntheticConsortium.groundTruthHeader
        for (scan, present) in effusion.sorted(by: { $0.key < $1.key }) {
            text += "site-1,\(scan),\(scan),60,0,0,0.05,0.1,1.0,\(present ? 0.5 : 0),right,1,1,3,\(hazards)\n"
        }
        let url = FileManager.default.temporaryDirectory.appending(path: "fedct-truth-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(text.utf8).write(to: url)
        return try SyntheticGroundTruth(path: url.path)
    }

    func testGroundTruthFindingsUseTheReportThresholds() {
        XCTAssertEqual(SyntheticGroundTruth.findings(lesion: 0.05, emphysema: 0.1, heart: 1.0, effusion: 0), [])
        XCTAssertEqual(SyntheticGroundTruth.findings(lesion: 0.1, emphysema: 0.15, heart: 1.15, effusion: 0.1),
                       ["nodule_mass", "emphysema", "cardiomegaly", "effusion"])
        XCTAssertEqual(Set(SyntheticGroundTruth.findingNames), Set(LanguageImageEvaluation.chestFindings.map(\.name)))
    }

    /// Lung cancer is labelled from the follow-up (censored scans left out), effusion from the ground truth; k = 1 draws
    /// one scan per class, the probe's sign follows the first coordinate, and each metric is the mean over the draws.
    func testFewShotTasksScoreByHand() throws {
        let sites = [
            PretrainingExperiment.Site(name: "a", dataset: SiteDataset(train: scans("ta", cancer: [true, false, true]),
                                                                       heldout: scans("ha", cancer: [true, false, nil]), skippedWithoutFollowUp: [])),
            PretrainingExperiment.Site(name: "b", dataset: SiteDataset(train: scans("tb", cancer: [false, nil]),
                                                                       heldout: scans("hb", cancer: [true, false, false]), skippedWithoutFollowUp: [])),
        ]
        let truth = try groundTruth(effusion: ["ta-0": true, "ta-1": false, "ta-2": true, "tb-0": false, "tb-1": false,
                                               "ha-0": true, "ha-1": true, "ha-2": false, "hb-0": false, "hb-1": true, "hb-2": false])
        let tasks = ExperimentTask.fewShotTasks.filter { $0.name.hasSuffix("_k1") && ($0.name.contains("lung_cancer") || $0.name.contains("effusion")) }
        XCTAssertEqual(tasks.map(\.name), ["fewshot_lung_cancer_12m_k1", "fewshot_effusion_k1"])
        XCTAssertEqual(tasks[0].metrics, [.auroc, .balancedAccuracy, .f1])
        let scorer = try ExperimentScorer(sites: sites, tasks: tasks, seeds: 1, replicates: 20, seed: 2, groundTruth: truth)
        XCTAssertEqual(scorer.counts(cohort: "pooled", task: tasks[0]).patients, 5, "the censored held-out scan is left out")
        XCTAssertEqual(scorer.counts(cohort: "pooled", task: tasks[0]).events, 2)
        XCTAssertEqual(scorer.counts(cohort: "pooled", task: tasks[1]).patients, 6)
        XCTAssertEqual(scorer.counts(cohort: "pooled", task: tasks[1]).events, 3)

        // Train: positives of both labels at +1, negatives at −1. Held out (ha-0, ha-1, ha-2, hb-0, hb-1, hb-2):
        let train = [[1.0], [-1], [1], [-1], [-1]]
        let heldout = [[2.0], [-0.5], [3], [0.5], [1], [-2]]
        let predictions = scorer.predictions(trainFeatures: train, heldoutFeatures: heldout)
        XCTAssertEqual(predictions.byTask["fewshot_lung_cancer_12m_k1"]?.draws.count, FewShotEvaluation.folds)
        let samples = scorer.samples(perSeed: [predictions])
        func estimate(_ task: String, _ metric: ExperimentMetric) throws -> Double {
            try XCTUnwrap(samples[ExperimentScoreKey(cohort: "pooled", task: task, metric: metric)]?.estimate, "\(task) \(metric)")
        }
        // Lung cancer, known: positives ha-0 (2), hb-0 (0.5); negatives ha-1 (−0.5), hb-1 (1), hb-2 (−2): 5 of 6 pairs
        // ordered; predicted positive 2, 0.5, 1: recall 1, specificity 2/3 → balanced accuracy 5/6; F1 = 4 / (4 + 1) = 0.8.
        XCTAssertEqual(try estimate("fewshot_lung_cancer_12m_k1", .auroc), 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try estimate("fewshot_lung_cancer_12m_k1", .balancedAccuracy), 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try estimate("fewshot_lung_cancer_12m_k1", .f1), 0.8, accuracy: 1e-12)
        // Effusion: positives ha-0 (2), ha-1 (−0.5), hb-1 (1); negatives ha-2 (3), hb-0 (0.5), hb-2 (−2): 5 of 9 pairs.
        XCTAssertEqual(try estimate("fewshot_effusion_k1", .auroc), 5.0 / 9, accuracy: 1e-12)

        // Without the ground truth the finding is undefined, with a note that says why; k = 5 needs five of each class.
        let unlabelled = try ExperimentScorer(sites: sites, tasks: ExperimentTask.fewShotTasks, seeds: 1, replicates: 20, seed: 2)
        let notes = unlabelled.predictions(trainFeatures: train, heldoutFeatures: heldout).notes
        XCTAssertTrue(notes["fewshot_effusion_k1"]?.contains("--ground-truth") == true, "\(notes)")
        XCTAssertTrue(notes["fewshot_lung_cancer_12m_k5"]?.contains("fewer than k = 5") == true, "\(notes)")
    }

    /// A small stage-1 and stage-2 spec pair (32³ scans, a width-4 ResNet-18).
    private func specs() throws -> (Fedct_V1_JobSpec, Fedct_V1_JobSpec) {
        var stage1 = try MEDFORMObjectiveTests.example()
        stage1.rounds = 1
        stage1.training.volumeSize = 32
        stage1.training.batchSize = 4
        stage1.medform.sliceEncoderWidth = 4
        stage1.medform.slicesPerScan = 4
        var stage2 = try MEDFORMObjectiveTests.example("job-medform-stage2.yaml")
        stage2.rounds = 1
        stage2.training.volumeSize = 32
        stage2.training.batchSize = 4
        stage2.training.gradientAccumulation = 1
        stage2.medform.sliceEncoderWidth = 4
        stage2.medform.attentionHidden = 4
        stage2.medform.bagSlices = 4
        return (stage1, stage2)
    }

    /// Two sites, one seed of one round of each stage: the clinical setup equals the pooled moments, every arm's stage 2
    /// starts from its own stage-1 slice encoder, and the table has every arm, task and MEDFORM's two checks.
    func testTinyRunTrainsBothStagesForEveryArm() throws {
        let root = FileManager.default.temporaryDirectory.appending(path: "fedct-medform-experiment-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticConsortium(patientsPerSite: [14, 12], volumeSize: 32, seed: 5).write(to: root)
        let folders = (0..<2).map { root.appending(path: SyntheticConsortium.siteName($0)).path }
        var (stage1, stage2) = try specs()
        try ClinicalSetupDerivation.deriveLocally(into: &stage2, dataDirectories: folders)
        let ages = try folders.flatMap { folder in
            let manifest = try CohortManifest(path: "\(folder)/cohort.csv")
            let table = try ClinicalTable(directory: folder, columns: ["age"])
            return try manifest.entries.filter { $0.split == .train }.compactMap { try table.values(for: $0, manifest: manifest.path)[0] }
        }
        XCTAssertEqual(stage2.medform.clinicalMean[0], ages.reduce(0, +) / Double(ages.count), accuracy: 1e-5, "μ of age over both sites' train rows")

        let recipe = try MEDFORMObjective().siteExamples(for: stage2)
        let sites = try folders.map { folder in
            PretrainingExperiment.Site(name: URL(fileURLWithPath: folder).lastPathComponent,
                                       dataset: try SiteDataset.load(directory: folder, recipe: recipe, preprocessing: stage2.preprocessingPipeline))
        }
        var experiment = PretrainingExperiment(spec: stage2, sites: sites)
        experiment.firstStage = stage1
        experiment.tasks = ExperimentTask.fewShotTasks
        experiment.checks = .medform
        experiment.seeds = 1
        experiment.bootstrapReplicates = 20
        experiment.learningCurves = false
        experiment.groundTruth = try SyntheticGroundTruth(path: root.appending(path: SyntheticConsortium.groundTruthName).path)
        experiment.checkpointFolder = root.appending(path: "checkpoints")
        let lines = Mutex<[String]>([])
        experiment.progress = { line in lines.withLock { $0.append(line) } }
        let table = try experiment.run()
        let progress = lines.withLock { $0 }
        for label in ["local-only:site-1", "federated-fedavg", "federated-secure", "centralised"] {
            XCTAssertEqual(progress.filter { $0.hasPrefix("\(label) round 1/1") }.count, 2, "\(label) trains stage 1, then stage 2: \(progress)")
        }
        XCTAssertEqual(table.arms.map(\.label), ["random-init", "local-only:site-1", "local-only:site-2", "federated-fedavg", "federated-secure", "centralised", "oracle"])
        XCTAssertEqual(table.tasks.count, 5 * 3 + 1)
        XCTAssertEqual(table.summaryHeader, ["arm", "cohort", "task", "AUROC", "Harrell's C", "Uno's C", "td-AUC", "IBS", "bal. acc.", "F1", "n", "events"])
        XCTAssertEqual(table.rows.count, 7 * 3 * (15 * 3 + 4))
        XCTAssertNotNil(table.row(arm: "federated-fedavg", cohort: "pooled", task: "fewshot_nodule_mass_k1", metric: .auroc)?.interval,
                        "the ground truth labels the findings")
        XCTAssertEqual(table.checks.count, 2, "above random init and non-inferior to centralised, on the k = 10 lung-cancer AUROC")
        XCTAssertTrue(table.checks.allSatisfy { $0.statement.contains("fewshot_lung_cancer_12m_k10") })
        XCTAssertTrue(table.checks[1].statement.contains("−0.03"), table.checks[1].statement)

        // The seed's checkpoint holds every arm's two-stage model (BatchNorm statistics included): a second run over the
        // same folder trains neither stage and scores exactly the same.
        lines.withLock { $0.removeAll() }
        let restored = try experiment.run()
        XCTAssertEqual(lines.withLock { $0 }.filter { $0.contains(" round ") }, [], "nothing trains again")
        XCTAssertEqual(restored.rows, table.rows)
    }

    /// Encoders of other objectives — a TTE encoder on its targets, an HLIP model on each scan as a one-scan study with its
    /// report — train federated per seed beside the arms and are scored on the same held-out scans; a checkpoint
    /// restores each by its label; a label used twice, or an arm's, is refused.
    func testEncodersOfOtherObjectivesAreScoredOnTheSameScans() throws {
        let root = FileManager.default.temporaryDirectory.appending(path: "fedct-medform-companions-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticConsortium(patientsPerSite: [14, 12], volumeSize: 32, seed: 6).write(to: root)
        let folders = (0..<2).map { root.appending(path: SyntheticConsortium.siteName($0)).path }
        var (stage1, stage2) = try specs()
        try ClinicalSetupDerivation.deriveLocally(into: &stage2, dataDirectories: folders)
        let tte = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: tte-beside
            seed: 4
            rounds: 1
            encoder: {architecture: resnet3d, depth: 10, width: 2, stem_stride: 1, norm: group}
            tte: {task_codes: [DEATH], piece_edges_days: [365, 3650], rank: 2}
            training: {local_epochs: 1, batch_size: 4, learning_rate: 0.003, volume_size: 32}
            """, source: "tte.yaml"))
        let hlip = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: hlip-beside
            objective: hlip
            seed: 5
            rounds: 1
            encoder: {architecture: none}
            hlip: {dim: 12, depth: 2, heads: 2, patch: [8, 16, 16], pattern: [scan, study], scans_per_study: 2, text_width: 16, text_depth: 1, text_heads: 2, context_length: 128, embed_dim: 8}
            training: {local_epochs: 1, batch_size: 4, learning_rate: 0.0005, weight_decay: 0.2, volume_size: 32}
            """, source: "hlip.yaml"))
        var recipe = try MEDFORMObjective().siteExamples(for: stage2)
        recipe.trackedCodes.formUnion(tte.labeler.taskCodes)
        let own = recipe.targets, tteTargets = SiteDataset.timeToEventTargets(tte.labeler)
        recipe.targets = { input, first, followUp in try own(input, first, followUp).merging(try tteTargets(input, first, followUp)) { $1 } }
        let sites = try folders.map { folder in
            PretrainingExperiment.Site(name: URL(fileURLWithPath: folder).lastPathComponent,
                                       dataset: try SiteDataset.load(directory: folder, recipe: recipe, preprocessing: stage2.preprocessingPipeline))
        }
        XCTAssertTrue(sites.allSatisfy { $0.dataset.train.allSatisfy { $0.report != nil } }, "every scan carries its report")
        var experiment = PretrainingExperiment(spec: stage2, sites: sites)
        experiment.firstStage = stage1
        experiment.tasks = ExperimentTask.fewShotTasks.filter { $0.name.hasSuffix("_k1") } + [.survival("DEATH")]
        experiment.checks = .medform
        experiment.arms = [.randomInit]
        experiment.seeds = 1
        experiment.bootstrapReplicates = 20
        experiment.learningCurves = false
        experiment.checkpointFolder = root.appending(path: "checkpoints")
        experiment.companions = [.init(label: "tte", spec: tte), .init(label: "hlip", spec: hlip)]
        let lines = Mutex<[String]>([])
        experiment.progress = { line in lines.withLock { $0.append(line) } }
        let table = try experiment.run()
        let progress = lines.withLock { $0 }
        for label in ["tte", "hlip"] {
            XCTAssertTrue(progress.contains { $0.hasPrefix("\(label) round 1/1: mean site loss") }, "\(label) trains federated: \(progress)")
        }
        XCTAssertEqual(table.arms.map(\.label), ["random-init", "tte", "hlip"])
        let counts = try XCTUnwrap(table.row(arm: "random-init", cohort: "pooled", task: "fewshot_lung_cancer_12m_k1", metric: .auroc))
        for label in ["tte", "hlip"] {
            let row = try XCTUnwrap(table.row(arm: label, cohort: "pooled", task: "fewshot_lung_cancer_12m_k1", metric: .auroc))
            XCTAssertEqual(row.patients, counts.patients, "\(label) is scored on the same held-out scans")
            XCTAssertNotNil(table.row(arm: label, cohort: "pooled", task: "DEATH", metric: .harrellC)?.interval, label)
        }

        lines.withLock { $0.removeAll() }
        let restored = try experiment.run()
        XCTAssertEqual(lines.withLock { $0 }.filter { $0.contains(" round ") }, [], "both encoders are restored, not trained")
        XCTAssertEqual(restored.rows, table.rows)

        for clash in ["tte", "centralised"] {
            experiment.companions[1].label = clash
            XCTAssertThrowsError(try experiment.run(), clash) { error in
                XCTAssertTrue("\(error)".contains("distinct labels"), "\(error)")
            }
        }
    }

    /// An arm's stage-2 initial model carries the arm's stage-1 slice encoder (BatchNorm statistics included) and the
    /// stage-2 spec's seeded MIL and clinical parts; an arm without a stage-1 model gets the seeded model.
    func testAnArmsStage2StartsFromItsStage1Model() throws {
        var (stage1, stage2) = try specs()
        stage2.medform.clinicalMean = Array(repeating: 0, count: stage2.medform.clinicalColumns.count)
        stage2.medform.clinicalStd = Array(repeating: 1, count: stage2.medform.clinicalColumns.count)
        stage1.seed = 41
        let first = try TorchModel(spec: stage1).state()
        var experiment = PretrainingExperiment(spec: stage2, sites: [])
        experiment.firstStageModels = ["centralised": (first, 0)]
        let started = try experiment.initialModel(label: "centralised").state()
        let seeded = try experiment.initialModel(label: "random-init").state()
        func tensors(_ state: ModelState) -> [(name: String, values: [Float])] {
            var offset = 0
            return state.layout.map { tensor in
                defer { offset += tensor.count }
                return (tensor.name, Array(state.values[offset..<(offset + tensor.count)]))
            }
        }
        let firstTensors = Dictionary(uniqueKeysWithValues: tensors(first).map { ($0.name, $0.values) })
        var compared = 0
        for (tensor, seededTensor) in zip(tensors(started), tensors(seeded)) {
            if tensor.name.hasPrefix("slice_encoder.") {
                XCTAssertEqual(tensor.values, firstTensors[tensor.name], tensor.name)
                compared += 1
            } else {
                XCTAssertEqual(tensor.values, seededTensor.values, "\(tensor.name) keeps the stage-2 seed")
            }
        }
        XCTAssertGreaterThan(compared, 10)
        XCTAssertNotEqual(started.values, seeded.values)
    }
}

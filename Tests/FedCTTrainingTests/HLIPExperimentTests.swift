// Tests of HLIP's experiment table: finding labels from reports, zero-shot and retrieval scoring, its checks, and a tiny run of every arm.
@testable import FedCTCore
@testable import FedCTData
@testable import FedCTExperiment
import FedCTProto
import FedCTTorch
@testable import FedCTTraining
import Foundation
import Synchronization
import XCTest

final class HLIPExperimentTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private static let effusion = LanguageImageEvaluation.chestFindings[0]

    /// Studies without images whose reports state an effusion or deny one.
    private func studies(_ prefix: String, effusion: [Bool]) -> [SiteExample] {
        effusion.enumerated().map { index, present in
            SiteExample(scanID: "\(prefix)-\(index)", subjectID: "\(prefix)-\(index)", inputs: [[]], targets: [:], firstEventDays: [:],
                        followUpDays: 400, report: present ? "FINDINGS:\nSmall right pleural effusion.\n" : "FINDINGS:\nNo pleural effusion.\n")
        }
    }

    /// Findings are labelled from the reports; the zero-shot task takes the text tower's scores, the probe task fits on
    /// the train studies' labels, and recall@k is the share of reports whose study ranks below k (per cohort).
    func testFindingAndRetrievalTasksScoreWhatTheyAreGiven() throws {
        let sites = [
            PretrainingExperiment.Site(name: "a", dataset: SiteDataset(train: studies("ta", effusion: [true, false, true, false]),
                                                                       heldout: studies("ha", effusion: [true, false, false]), skippedWithoutFollowUp: [])),
            PretrainingExperiment.Site(name: "b", dataset: SiteDataset(train: studies("tb", effusion: [false, true]),
                                                                       heldout: studies("hb", effusion: [true, true, false]), skippedWithoutFollowUp: [])),
        ]
        let tasks = ExperimentTask.languageImage.filter { ["zero_shot_effusion", "probe_effusion", "recall@1", "recall@5"].contains($0.name) }
        let scorer = try ExperimentScorer(sites: sites, tasks: tasks, seeds: 1, replicates: 20, seed: 2)
        XCTAssertEqual(scorer.counts(cohort: "pooled", task: tasks[0]).patients, 6)
        XCTAssertEqual(scorer.counts(cohort: "pooled", task: tasks[0]).events, 3, "three held-out reports state an effusion")
        XCTAssertEqual(scorer.counts(cohort: "b", task: tasks[0]).events, 2)

        // Train features separate the classes along the first coordinate; held-out ones too, except study 2 of site b.
        let train = [[1.0, 0], [-1, 0], [1.2, 0], [-0.8, 0], [-1, 0.1], [0.9, 0]]
        let heldout = [[1.0, 0], [-1, 0], [-0.5, 0], [0.7, 0], [0.8, 0], [0.9, 0]]
        let scores = LanguageImageEvaluation.Scores(zeroShot: ["effusion": [3, -1, 2, 1, 0, -2]], ranks: [0, 3, 1, 0, 4, 6])
        let predictions = scorer.predictions(trainFeatures: train, heldoutFeatures: heldout, languageImage: scores)
        XCTAssertEqual(predictions.byTask["zero_shot_effusion"]?.risk, [3, -1, 2, 1, 0, -2])
        XCTAssertEqual(predictions.byTask["recall@1"]?.risk, [1, 0, 0, 1, 0, 0])
        let samples = scorer.samples(perSeed: [predictions])
        func estimate(_ cohort: String, _ task: String, _ metric: ExperimentMetric) -> Double? {
            samples[ExperimentScoreKey(cohort: cohort, task: task, metric: metric)]?.estimate
        }
        // Pooled zero-shot: positives score 3, 1, 0 and negatives −1, 2, −2: 7 of 9 pairs ordered; site a's alone: all.
        XCTAssertEqual(try XCTUnwrap(estimate("pooled", "zero_shot_effusion", .auroc)), 7.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(estimate("a", "zero_shot_effusion", .auroc)), 1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(estimate("pooled", "recall@1", .recall)), 2.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(estimate("pooled", "recall@5", .recall)), 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(estimate("b", "recall@5", .recall)), 2.0 / 3, accuracy: 1e-12)
        // The probe ranks by the first coordinate: positives 1.0, 0.7, 0.8 against negatives −1, −0.5, 0.9: 7 of 9.
        XCTAssertEqual(try XCTUnwrap(estimate("pooled", "probe_effusion", .auroc)), 7.0 / 9, accuracy: 1e-12)

        let withoutText = scorer.predictions(trainFeatures: train, heldoutFeatures: heldout)
        XCTAssertNil(withoutText.byTask["zero_shot_effusion"])
        XCTAssertTrue(withoutText.notes["recall@1"]?.contains("no text tower") == true, "\(withoutText.notes)")
        XCTAssertNotNil(withoutText.byTask["probe_effusion"], "a linear probe needs only the image embeddings")
    }

    private func interval(_ estimate: Double, _ lower: Double, _ upper: Double) -> BootstrapInterval {
        BootstrapInterval(estimate: estimate, lower: lower, upper: upper, level: 0.95, replicates: 100, failed: 0)
    }

    func testAboveChanceNeedsTheLowerEndAbove05() {
        XCTAssertEqual(ExperimentCheck.aboveChance(interval(0.7, 0.51, 0.8), scope: "s").passed, true)
        XCTAssertEqual(ExperimentCheck.aboveChance(interval(0.7, 0.49, 0.8), scope: "s").passed, false)
        XCTAssertNil(ExperimentCheck.aboveChance(nil, scope: "s").passed)
        let check = ExperimentCheck.nonInferiority(interval(-0.01, -0.025, 0.01), margin: ExperimentChecks.languageImageMargin, scope: "s")
        XCTAssertEqual(check.passed, true, "−0.025 is inside HLIP's margin of 0.03 (though outside TTE's 0.02)")
        XCTAssertTrue(check.statement.contains("−0.03"), check.statement)
    }

    /// Two sites of multi-series studies, one seed of one round: every arm, the TTE encoder beside them, the checks, and
    /// random init's retrieval equal to the site evaluation's.
    func testTinyRunHasEveryArmTaskAndCheck() throws {
        let root = FileManager.default.temporaryDirectory.appending(path: "fedct-hlip-experiment-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var consortium = SyntheticConsortium(patientsPerSite: [14, 12], volumeSize: 16, seed: 5)
        consortium.maxSeriesPerStudy = 2
        try consortium.write(to: root)
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: hlip-experiment-test
            objective: hlip
            rounds: 1
            seed: 3
            encoder: {architecture: none}
            hlip: {dim: 12, depth: 2, heads: 2, patch: [8, 8, 8], pattern: [scan, study], scans_per_study: 2, text_width: 16, text_depth: 1, text_heads: 2, context_length: 128, embed_dim: 8}
            training: {local_epochs: 1, batch_size: 4, learning_rate: 0.0005, weight_decay: 0.2, volume_size: 16}
            secure_aggregation: {enabled: true, clip_norm: 1000, max_examples_per_site: 1000}
            """, source: "job.yaml"))
        let tteSpec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: tte-beside
            seed: 4
            rounds: 1
            encoder: {architecture: resnet3d, depth: 10, width: 2, stem_stride: 1, norm: group}
            tte: {task_codes: [DEATH], piece_edges_days: [365, 3650], rank: 2}
            training: {local_epochs: 1, batch_size: 4, learning_rate: 0.003, volume_size: 16}
            """, source: "tte.yaml"))
        let recipe = SiteExampleRecipe(trackedCodes: BinaryOutcome.trackedCodes, unit: .study, targets: SiteDataset.timeToEventTargets(tteSpec.labeler))
        let sites = try (0..<2).map { index in
            let name = SyntheticConsortium.siteName(index)
            return PretrainingExperiment.Site(name: name, dataset: try SiteDataset.load(directory: root.appending(path: name).path, recipe: recipe,
                                                                                       preprocessing: spec.preprocessingPipeline))
        }
        var experiment = PretrainingExperiment(spec: spec, sites: sites)
        experiment.tasks = ExperimentTask.languageImage
        experiment.checks = .hlip
        experiment.seeds = 1
        experiment.bootstrapReplicates = 20
        experiment.learningCurves = false
        experiment.companions = [PretrainingExperiment.Companion(label: "tte", spec: tteSpec)]
        let lines = Mutex<[String]>([])
        experiment.progress = { line in lines.withLock { $0.append(line) } }
        let table = try experiment.run()
        XCTAssertTrue(lines.withLock { $0 }.contains { $0.hasPrefix("tte round 1/1: mean site loss") }, "the TTE encoder's rounds carry its label")

        XCTAssertEqual(table.arms.map(\.label), ["random-init", "local-only:site-1", "local-only:site-2", "federated-fedavg", "federated-secure", "centralised", "tte"])
        XCTAssertEqual(table.tasks.map(\.name), ["zero_shot_effusion", "zero_shot_emphysema", "zero_shot_nodule_mass", "zero_shot_cardiomegaly",
                                                "probe_effusion", "probe_emphysema", "probe_nodule_mass", "probe_cardiomegaly", "recall@1", "recall@5", "DEATH"])
        XCTAssertEqual(table.summaryHeader, ["arm", "cohort", "task", "AUROC", "Harrell's C", "Uno's C", "td-AUC", "IBS", "recall", "n", "events"])
        XCTAssertEqual(table.rows.count, 7 * 3 * (8 + 2 + 4))
        let tteZeroShot = try XCTUnwrap(table.row(arm: "tte", cohort: "pooled", task: "zero_shot_effusion", metric: .auroc))
        XCTAssertNil(tteZeroShot.interval)
        XCTAssertTrue(tteZeroShot.note?.contains("no text tower") == true, "\(tteZeroShot)")
        XCTAssertNotNil(table.row(arm: "tte", cohort: "pooled", task: "DEATH", metric: .harrellC)?.interval, "the TTE encoder is probed for DEATH")
        XCTAssertFalse(table.gains.contains { $0.task.hasPrefix("recall") }, "no relative gain on retrieval")

        XCTAssertEqual(table.checks.count, 6, "above chance, above random init, non-inferior to centralised, for effusion and nodule/mass")
        XCTAssertEqual(table.checks.filter { $0.statement.contains("zero_shot_nodule_mass") }.count, 3)
        for check in table.checks where check.statement.contains("above chance") {
            let task = check.statement.contains("effusion") ? "zero_shot_effusion" : "zero_shot_nodule_mass"
            let interval = table.row(arm: "federated-fedavg", cohort: "pooled", task: task, metric: .auroc)?.interval
            XCTAssertEqual(check.passed, interval.map { $0.lower > 0.5 }, check.detail)
        }
        XCTAssertEqual(table.differences.map(\.name).filter { $0.hasSuffix("centralised") }.count, 2)

        // Random init is the spec's initial model: its per-site recall is the site evaluation's.
        let model = try TorchModel(spec: spec)
        var trainer = LocalTrainer(training: spec.training)
        trainer.batchSize = experiment.embeddingBatchSize
        for site in sites {
            let metrics = try LanguageImageEvaluation.metrics(model: model, trainer: trainer, heldout: site.dataset.heldout)
            let recall = try XCTUnwrap(metrics.first { $0.name == EvaluationReport.recallName(5) }?.value)
            let row = try XCTUnwrap(table.row(arm: "random-init", cohort: site.name, task: "recall@5", metric: .recall)?.interval)
            XCTAssertEqual(row.estimate, recall, accuracy: 1e-12, site.name)
        }
    }
}

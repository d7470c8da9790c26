// Tests of the experiment table: the federated arms' computation, the secure arm's quantisation, the table's rows and the oracle.
import FedCTCore
import FedCTData
@testable import FedCTExperiment
import FedCTProto
import FedCTTorch
@testable import FedCTTraining
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

final class TTEExperimentTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    /// A tiny synthetic consortium (16³ volumes) written to a temporary folder, loaded with a width-2 ResNet-10 spec.
    private func experiment(patients: [Int], rounds: Int, secureClipNorm: Double = 1000) throws -> (PretrainingExperiment, URL) {
        let root = FileManager.default.temporaryDirectory.appending(path: "fedct-experiment-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        try SyntheticConsortium(patientsPerSite: patients, volumeSize: 16, seed: 5).write(to: root)
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: experiment-test
            rounds: \(rounds)
            seed: 3
            encoder: {architecture: resnet3d, depth: 10, width: 2, stem_stride: 1, norm: group}
            tte:
              task_codes: [DEATH, PE]
              piece_edges_days: [365, 1825, 3650]
              rank: 2
            training: {local_epochs: 1, batch_size: 4, learning_rate: 0.003, volume_size: 16}
            secure_aggregation: {enabled: true, clip_norm: \(secureClipNorm), max_examples_per_site: 1000}
            """, source: "job.yaml"))
        let sites = try patients.indices.map { index in
            let name = SyntheticConsortium.siteName(index)
            return PretrainingExperiment.Site(name: name, dataset: try SiteDataset.load(directory: root.appending(path: name).path, labeler: spec.labeler,
                                                                                preprocessing: spec.preprocessingPipeline,
                                                                                alsoTracking: BinaryOutcome.trackedCodes))
        }
        return (PretrainingExperiment(spec: spec, sites: sites), root)
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
    }

    /// With one site, FedAvg's global model after a round is the site's trained model: its Δ weighted by its own count
    /// and added back, w + (w' − w), which float rounding can move by an ulp of w or w'. So one federated round is one
    /// round of local-only training with the same seed, to those ulps. (Over more rounds Adam, which normalises tiny
    /// gradients to full steps, amplifies the ulps; there the arms are compared by determinism only.)
    func testFederatedWithOneSiteIsLocalTraining() throws {
        let (experiment, _) = try experiment(patients: [12], rounds: 1)
        let initial = try TorchModel(spec: experiment.spec).exportState()
        let federated = try experiment.federate(secure: false).exportState()
        Torch.setThreadCount(1)  // the sites' training runs with one Torch thread each
        defer { Torch.setThreadCount(2) }
        let local = try experiment.trainLocally(label: "local", on: experiment.sites[0].dataset.train, model: TorchModel(spec: experiment.spec)).exportState()
        XCTAssertGreaterThan(maxDifference(local, initial), 1e-3, "training moved the model")
        for index in local.indices {
            let ulp = max(local[index].magnitude, initial[index].magnitude).ulp
            XCTAssertLessThanOrEqual(abs(federated[index] - local[index]), 2 * ulp, "coordinate \(index)")
        }
    }

    /// The sites train in parallel (one thread each) when `threads` > 1; the result is the one of training them one by one.
    func testArmsAreDeterministicAndIndependentOfParallelism() throws {
        var (experiment, _) = try experiment(patients: [10, 8], rounds: 2)
        experiment.threads = 1
        let serial = try experiment.federate(secure: false).exportState()
        let serialSecure = try experiment.federate(secure: true).exportState()
        experiment.threads = 2
        XCTAssertEqual(try experiment.federate(secure: false).exportState(), serial)
        XCTAssertEqual(try experiment.federate(secure: true).exportState(), serialSecure)
    }

    /// Both arms start from the same model with the same seeds, so the sites' updates are identical; the secure arm's
    /// mean differs from FedAvg's only by fixed-point rounding, at most n / (scale · Σw) per coordinate (no clipping here).
    func testSecureArmIsFedAvgWithinTheFixedPointBound() throws {
        let (experiment, _) = try experiment(patients: [10, 8], rounds: 1)
        let fedAvg = try experiment.federate(secure: false).exportState()
        let secure = try experiment.federate(secure: true).exportState()
        let encoding = try experiment.spec.secureEncoding(keyHolders: 2, threshold: 2)
        let totalWeight = Double(experiment.sites.map(\.dataset.train.count).reduce(0, +))
        let bound = 2 / (encoding.scale * totalWeight)
        let difference = maxDifference(secure, fedAvg)
        XCTAssertLessThanOrEqual(difference, bound + 1e-6, "bound \(bound)")
        XCTAssertGreaterThan(difference, 0, "the quantisation is applied")
    }

    /// A small clip norm clips every update, so the secure arm then differs from FedAvg by far more than rounding.
    func testSecureArmClipsUpdates() throws {
        let (experiment, _) = try experiment(patients: [10, 8], rounds: 1, secureClipNorm: 1e-3)
        let initial = try TorchModel(spec: experiment.spec).exportState()
        let secure = try experiment.federate(secure: true).exportState()
        let norm = zip(secure, initial).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        XCTAssertLessThanOrEqual(norm, 1e-3 * (1 + 1e-3), "the mean of updates clipped to 1e-3 has norm ≤ 1e-3")
    }

    func testTableHasOneRowPerArmCohortTaskAndMetric() throws {
        var (experiment, root) = try experiment(patients: [16, 12], rounds: 2)
        experiment.groundTruth = try SyntheticGroundTruth(path: root.appending(path: SyntheticConsortium.groundTruthName).path)
        experiment.seeds = 2
        experiment.bootstrapReplicates = 30
        let table = try experiment.run()

        let arms = ["random-init", "local-only:site-1", "local-only:site-2", "federated-fedavg", "federated-secure", "centralised", "oracle"]
        XCTAssertEqual(table.arms.map(\.label), arms)
        XCTAssertEqual(table.cohorts, ["pooled", "site-1", "site-2"], "the pooled held-out patients and each site's")
        XCTAssertEqual(table.tasks.map(\.name), ["mortality_1m", "mortality_6m", "mortality_12m", "readmission_1m", "readmission_6m", "readmission_12m",
                                                "pe_12m", "ph_12m", "DEATH", "PE", "PH", "READMISSION"])
        let metricsPerCohort = 8 * 1 + 4 * 4
        XCTAssertEqual(table.rows.count, arms.count * 3 * metricsPerCohort)
        for arm in arms.dropFirst() {
            XCTAssertEqual(Set(table.gains.filter { $0.arm == arm && !$0.task.hasPrefix("mean of") }.map(\.task)), Set(table.tasks.map(\.name)))
        }
        XCTAssertFalse(table.gains.contains { $0.arm == "random-init" })
        let csvLines = table.csv.split(separator: "\n")
        XCTAssertEqual(csvLines.first.map(String.init), ExperimentTable.csvHeader)
        XCTAssertEqual(csvLines.count, 1 + table.rows.count + table.gains.count)
        XCTAssertEqual(table.summaryCells().count, arms.count * 3 * 12)
        XCTAssertEqual(table.summaryCells(cohort: "pooled").count, arms.count * 12)
        for line in table.markdown.split(separator: "\n") where line.hasPrefix("| ") {
            let columns = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count - 1
            XCTAssertTrue([table.summaryHeader.count, ExperimentTable.gainHeader.count, 3].contains(columns), "a cell's own | is escaped: \(line)")
        }
        XCTAssertEqual(table.checks.count, 3)
        XCTAssertEqual(table.differences.map(\.name).prefix(2), ["federated-fedavg − centralised", "federated-fedavg − random-init"])
        let scored = table.rows.compactMap(\.interval)
        XCTAssertFalse(scored.isEmpty)
        for interval in scored { XCTAssertLessThanOrEqual(interval.lower, interval.upper) }
        for row in table.rows where row.interval == nil { XCTAssertNotNil(row.note, "a missing metric says why") }
        // Learning curves: every federated arm, seed and round has its train loss; the first seed's rounds their pooled C.
        XCTAssertEqual(table.curves.count, 2 * 2 * 2)
        XCTAssertTrue(table.curves.filter { $0.seed == 0 }.allSatisfy { $0.pooledHarrellC != nil })
        XCTAssertTrue(table.curves.filter { $0.seed == 1 }.allSatisfy { $0.pooledHarrellC == nil })
        XCTAssertEqual(table.curvesCSV.split(separator: "\n").count, 1 + 8)
        XCTAssertEqual(Set(table.phases.map { $0.name }), ["training", "embedding", "probes", "learning curves", "bootstrap"])
        // Plots: well-formed SVG with one dot per defined pooled headline estimate, and one line per federated arm.
        let forest = try XMLDocument(xmlString: ExperimentPlots.forest(table))
        let dots = table.tasks.flatMap { task in arms.compactMap { table.row(arm: $0, cohort: "pooled", task: task.name, metric: task.headline)?.interval } }
        XCTAssertEqual(try forest.nodes(forXPath: "//*[local-name()='circle']").count, dots.count)
        let curves = try XMLDocument(xmlString: ExperimentPlots.learningCurves(table))
        XCTAssertEqual(try curves.nodes(forXPath: "//*[local-name()='polyline']").count, 2 * 2, "C and loss panels × two federated arms")
    }

    /// `arms` leaves out the arms not asked for (the daemons' own models and the oracle are still scored); a check that
    /// needs a left-out arm reads N/A instead of failing.
    func testOnlyTheChosenArmsAreTrained() throws {
        var (experiment, root) = try experiment(patients: [10, 8], rounds: 1)
        experiment.groundTruth = try SyntheticGroundTruth(path: root.appending(path: SyntheticConsortium.groundTruthName).path)
        experiment.seeds = 1
        experiment.bootstrapReplicates = 20
        experiment.learningCurves = false
        experiment.arms = [.fedAvg, .centralised]
        let table = try experiment.run()
        XCTAssertEqual(table.arms.map(\.label), ["federated-fedavg", "centralised", "oracle"])
        XCTAssertEqual(table.checks.count, 3)
        XCTAssertNotNil(table.checks[0].passed, "non-inferiority to centralised is decided: both arms ran")
        XCTAssertNil(table.checks[1].passed, "superiority to random init needs the random-init arm")
        XCTAssertNil(table.checks[2].passed, "above the best local-only model needs the local-only arms")
    }

    /// Arms are paired by seed: seed index s trains from the spec with seed + s, so random init's per-seed predictions
    /// differ between seeds, and seed index 0 is the spec itself.
    func testSeedIndexMovesTheSpecSeed() throws {
        let (experiment, _) = try experiment(patients: [10, 8], rounds: 1)
        XCTAssertEqual(experiment.seeded(0).spec, experiment.spec)
        XCTAssertEqual(experiment.seeded(2).spec.seed, experiment.spec.seed + 2)
        XCTAssertNotEqual(try TorchModel(spec: experiment.seeded(1).spec).exportState(), try TorchModel(spec: experiment.spec).exportState())
    }

    /// The oracle's Harrell's C is the true DEATH hazard of the held-out scans, read back from ground_truth.csv here.
    func testOracleScoresTheTrueHazardOfTheHeldOutScans() throws {
        var (experiment, root) = try experiment(patients: [16, 12], rounds: 1)
        experiment.groundTruth = try SyntheticGroundTruth(path: root.appending(path: SyntheticConsortium.groundTruthName).path)
        let scorer = try ExperimentScorer(sites: experiment.sites, tasks: [.survival("DEATH")], seeds: 1, replicates: 5, seed: 3)
        let oracle = scorer.oraclePredictions(experiment.groundTruth!).byTask["DEATH"]!

        let truth = try CSVTable(path: root.appending(path: SyntheticConsortium.groundTruthName).path)
        let scan = try truth.column("scan_id")
        let hazard = try truth.column("hazard_death")
        let hazards = Dictionary(uniqueKeysWithValues: truth.rows.map { ($0.fields[scan], Double($0.fields[hazard])!) })
        let heldout = experiment.sites.flatMap(\.dataset.heldout)
        XCTAssertEqual(heldout.count, 4 + 3, "a quarter of each site's patients")
        let outcomes = heldout.map { $0.outcome(task: "DEATH") }
        let expected = try ConcordanceIndex.harrellConcordance(time: outcomes.map(\.days), event: outcomes.map(\.event),
                                                               risk: heldout.map { log(hazards[$0.scanID]!) }).value
        XCTAssertEqual(oracle.risk, heldout.map { log(hazards[$0.scanID]!) })
        let samples = scorer.samples(perSeed: [scorer.oraclePredictions(experiment.groundTruth!)])
        XCTAssertEqual(samples[ExperimentScoreKey(cohort: "pooled", task: "DEATH", metric: .harrellC)]!.estimate, expected, accuracy: 1e-12)
        XCTAssertEqual(try scorer.pooledHarrellC(oracle, task: .survival("DEATH")), expected, accuracy: 1e-12)
        // Its survival curve is the true exponential one.
        XCTAssertEqual(oracle.survival(atDays: 365.25, row: 0), exp(-hazards[heldout[0].scanID]!), accuracy: 1e-12)
    }
}

// Tests of the experiment table's binary-task path against scikit-learn (Tests/Reference/experiment_binary_probe_reference.py):
// status at the horizon from the follow-up, the logistic probe on train scans with a known status, AUROC on held-out ones.
import FedCTCore
@testable import FedCTData
@testable import FedCTExperiment
@testable import FedCTTraining
import XCTest

final class ExperimentBinaryProbeTests: XCTestCase {
    /// Scans with the reference's follow-up (no image: the probe sees the given features).
    private func examples(_ prefix: String, _ eventDay: [Double], _ followUp: [Double]) -> [SiteExample] {
        eventDay.indices.map { index in
            SiteExample(scanID: "\(prefix)-\(index)", subjectID: "\(prefix)-\(index)", input: [], timeAtRisk: [], events: [],
                       firstEventDays: eventDay[index] >= 0 ? ["DEATH": eventDay[index]] : [:], followUpDays: followUp[index])
        }
    }

    func testLogisticProbeAndAUROCMatchScikitLearn() throws {
        let dataset = SiteDataset(train: examples("t", Reference.trainEventDay, Reference.trainFollowUp),
                                  heldout: examples("h", Reference.heldoutEventDay, Reference.heldoutFollowUp), skippedWithoutFollowUp: [])
        let task = ExperimentTask.binary(BinaryOutcome(name: "mortality_6m", code: "DEATH", horizonDays: 182))
        let scorer = try ExperimentScorer(sites: [PretrainingExperiment.Site(name: "site-1", dataset: dataset)], tasks: [task], seeds: 1, replicates: 50, seed: 1)
        let predictions = scorer.predictions(trainFeatures: Reference.trainFeatures, heldoutFeatures: Reference.heldoutFeatures)
        let risk = try XCTUnwrap(predictions.byTask["mortality_6m"]).risk
        XCTAssertEqual(risk.count, Reference.heldoutLogit.count)
        for (ours, theirs) in zip(risk, Reference.heldoutLogit) { XCTAssertEqual(ours, theirs, accuracy: 1e-6) }
        let counts = scorer.counts(cohort: "pooled", task: task)
        XCTAssertEqual(counts.patients, Reference.heldoutKnown, "held-out scans with a known status at 182 days")
        XCTAssertEqual(counts.events, Reference.heldoutPositives)
        let samples = try XCTUnwrap(scorer.samples(perSeed: [predictions])[ExperimentScoreKey(cohort: "pooled", task: "mortality_6m", metric: .auroc)])
        XCTAssertEqual(samples.estimate, Reference.auroc, accuracy: 1e-12)
        let interval = try samples.interval()
        XCTAssertLessThan(interval.lower, interval.estimate)
        XCTAssertGreaterThan(interval.upper, interval.estimate)
    }

    /// A task whose train scans are all negative gets no probe, and says why.
    func testATaskWithoutPositivesHasANote() throws {
        let dataset = SiteDataset(train: examples("t", Reference.trainEventDay.map { _ in -1 }, Reference.trainFollowUp),
                                  heldout: examples("h", Reference.heldoutEventDay, Reference.heldoutFollowUp), skippedWithoutFollowUp: [])
        let scorer = try ExperimentScorer(sites: [PretrainingExperiment.Site(name: "site-1", dataset: dataset)],
                                          tasks: [.binary(BinaryOutcome.standard[1]), .survival("DEATH")], seeds: 1, replicates: 5, seed: 1)
        let predictions = scorer.predictions(trainFeatures: Reference.trainFeatures, heldoutFeatures: Reference.heldoutFeatures)
        XCTAssertNil(predictions.byTask["mortality_6m"])
        XCTAssertTrue(predictions.notes["mortality_6m"]?.contains("are positive") == true, "\(predictions.notes)")
        XCTAssertTrue(predictions.notes["DEATH"]?.contains("no train scan has an event") == true, "\(predictions.notes)")
    }
}

/// Output of Tests/Reference/experiment_binary_probe_reference.py.
private enum Reference {
    // scikit-learn 1.5.2, numpy 2.4.6; horizon 182.0 days; first event day -1 = none
    static let trainFeatures: [[Double]] = [[1.827, -3.078, 0.958], [0.07, 1.318, 0.386], [1.827, 0.032, -0.516], [0.58, 0.432, -0.357], [-0.247, 0.719, 0.704], [-0.494, -0.368, -1.807], [1.679, -0.224, 1.337], [0.417, 1.944, 1.537], [0.318, 1.481, -0.95], [1.259, -1.48, 0.343], [1.065, 0.224, -0.367], [-0.806, -0.343, 1.051], [0.891, -0.262, -1.246], [0.674, -1.45, -0.531], [-0.735, 0.743, 0.236], [0.462, 0.272, -0.678], [0.535, 1.412, -0.037], [0.634, -0.126, 1.029], [0.667, 0.876, 0.348], [1.64, -0.361, -0.334], [-0.592, 0.611, -0.622], [-0.645, 0.727, 1.162], [0.574, -2.683, -0.954], [-1.073, -1.208, -0.408], [1.818, -0.307, -0.735], [0.699, 0.069, 0.121], [-0.687, -0.002, 0.435], [-1.911, -1.61, 1.085], [0.843, -0.507, -1.02], [-0.186, -1.194, -0.34], [1.651, 0.132, 1.166], [-0.223, 0.369, 1.386], [-1.336, -0.347, -0.157], [0.282, 1.554, 0.686], [-1.498, -0.271, -0.894], [-0.919, 2.025, -1.063], [0.236, -0.715, 0.861], [0.354, 0.127, -0.076], [1.138, -0.932, -0.727], [-1.117, 1.335, -0.294], [-1.037, -0.419, 2.5], [-0.107, 0.85, 0.465], [-0.012, -0.693, -0.334], [-0.354, -2.209, 2.59], [0.925, 0.116, -0.203], [-0.79, 0.95, -0.187], [0.479, -1.387, 0.378], [2.0, -0.29, 0.8], [0.035, 1.105, 1.067], [0.062, -0.56, 0.287], [0.042, -0.618, 0.456], [0.432, -0.889, -0.111], [2.921, 0.817, 0.098], [2.511, -0.455, -2.477], [-1.907, -1.52, 0.26], [0.976, -2.17, 1.117], [-1.228, 0.256, 0.464], [0.432, 0.008, 0.171], [-1.14, 0.278, 0.98], [0.926, 2.613, 1.083]]
    static let trainEventDay: [Double] = [5.0, -1.0, 42.0, 164.0, -1.0, -1.0, 16.0, 255.0, -1.0, 8.0, 25.0, -1.0, 207.0, 44.0, -1.0, -1.0, -1.0, -1.0, 32.0, 7.0, -1.0, -1.0, 65.0, -1.0, 20.0, 23.0, -1.0, -1.0, -1.0, 141.0, 40.0, -1.0, -1.0, -1.0, -1.0, -1.0, 24.0, -1.0, 7.0, -1.0, -1.0, -1.0, 23.0, -1.0, 124.0, -1.0, 197.0, 29.0, -1.0, -1.0, -1.0, 206.0, 1.0, 6.0, 149.0, 18.0, -1.0, 321.0, 163.0, 134.0]
    static let trainFollowUp: [Double] = [39.0, 376.0, 205.0, 176.0, 78.0, 211.0, 273.0, 360.0, 168.0, 69.0, 308.0, 136.0, 291.0, 324.0, 386.0, 85.0, 120.0, 167.0, 331.0, 186.0, 185.0, 339.0, 65.0, 61.0, 55.0, 214.0, 100.0, 156.0, 208.0, 221.0, 169.0, 73.0, 331.0, 349.0, 235.0, 130.0, 400.0, 65.0, 355.0, 258.0, 118.0, 245.0, 230.0, 24.0, 197.0, 315.0, 261.0, 69.0, 100.0, 284.0, 30.0, 283.0, 223.0, 166.0, 180.0, 202.0, 58.0, 372.0, 180.0, 272.0]
    static let heldoutFeatures: [[Double]] = [[-1.994, 0.02, -0.477], [-0.052, 0.466, 0.029], [-1.472, -0.377, -0.819], [-0.035, 0.348, -0.976], [0.724, 1.293, -0.279], [0.721, -1.49, -0.548], [0.958, -1.772, -0.512], [-0.902, 1.144, 1.141], [-0.629, 0.118, -2.619], [0.845, 0.345, 1.322], [-2.394, 0.342, -0.358], [-2.618, -0.698, -0.086], [0.797, 0.19, -0.522], [0.439, -0.114, -0.657], [-1.027, 0.143, 0.151], [1.836, -0.457, 1.599], [0.346, 1.174, -0.91], [-0.878, -0.312, 0.893], [0.173, 0.751, 0.316], [1.027, 0.197, -0.526], [0.514, 0.09, 1.748], [-0.16, 0.109, -0.306], [1.156, 0.875, 0.651], [-1.247, -1.517, 0.265], [0.722, 1.479, -1.796], [-0.17, -1.69, -0.961], [-0.221, 0.963, -0.527], [-0.718, -0.32, 1.258], [2.416, -1.542, -0.273], [-0.43, 1.169, 0.436], [1.541, -1.012, 0.014], [-0.456, -1.096, -0.158], [-1.184, 2.173, 0.417], [-1.016, -0.606, 1.733], [-0.478, 0.694, 0.584], [1.093, 0.635, -0.21], [-0.591, -1.776, -0.048], [0.139, -0.36, -0.144], [-1.214, 2.171, -0.501], [-1.035, -0.597, -0.168], [0.742, -2.427, 0.516], [-0.616, -0.179, 1.017], [0.767, -0.678, -0.093], [1.874, 1.363, 0.871], [0.012, 0.966, 0.4]]
    static let heldoutEventDay: [Double] = [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 226.0, -1.0, -1.0, 243.0, 98.0, -1.0, 14.0, 44.0, -1.0, 223.0, 64.0, 7.0, -1.0, 116.0, -1.0, 270.0, 53.0, -1.0, -1.0, 21.0, -1.0, 15.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 287.0, 30.0, -1.0, 125.0, 8.0, -1.0]
    static let heldoutFollowUp: [Double] = [347.0, 181.0, 234.0, 363.0, 77.0, 90.0, 27.0, 155.0, 69.0, 238.0, 147.0, 54.0, 296.0, 307.0, 365.0, 155.0, 227.0, 263.0, 353.0, 379.0, 147.0, 102.0, 125.0, 120.0, 314.0, 256.0, 66.0, 258.0, 271.0, 207.0, 300.0, 47.0, 282.0, 42.0, 345.0, 223.0, 340.0, 76.0, 96.0, 337.0, 54.0, 142.0, 317.0, 345.0, 73.0]
    static let heldoutLogit: [Double] = [-2.5871151781609565, -0.5180123541239385, -1.929546663114879, -0.977970564663222, -0.4400068496395369, 1.3929401689028673, 1.8712129661380033, -1.3005271935455656, -2.3771795633950337, 1.264151892742619, -3.183788986722661, -2.531772907408895, 0.2904892219792671, 0.04403250105823564, -1.2755753350061365, 3.0655592788322252, -1.1178768095186358, -0.37391628105464164, -0.31700969389510564, 0.5324667865577999, 1.3260284136262608, -0.5677112618843168, 0.8471257064979043, -0.26505739962954317, -1.4242062075567172, 0.33908104187270816, -1.36719961865147, 0.009495502410957979, 3.4206134776551367, -1.2016168526553066, 2.2548163637059266, 0.054666128301893824, -2.74600001030065, 0.15669096402820015, -0.8316700162921931, 0.4681943890657668, 0.455421752438159, 0.18177795416511067, -3.290992903336883, -0.9345386968767786, 2.6802688190124755, -0.11556016474768543, 1.1178125847447535, 1.3998834766668722, -0.5979236679181974]
    static let heldoutKnown = 28
    static let heldoutPositives = 12
    static let auroc = 0.8958333333333334
}

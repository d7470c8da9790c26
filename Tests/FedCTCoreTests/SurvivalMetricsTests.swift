// SurvivalMetricsTests: the metrics library against scikit-survival, lifelines and scikit-learn reference values, and its edge cases.
@testable import FedCTCore
import XCTest

/// Inputs and expected values printed by Tests/Reference/survival_metrics_reference.py (scikit-survival
/// 0.28.0, lifelines 0.30.3, scikit-learn 1.9.1, numpy 2.4.6); copied verbatim from its output.
private enum Reference {
    // Data set A (hand-made).
    static let aTime: [Double] = [1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 7.0, 8.0, 8.0, 9.0, 10.0, 11.0]
    static let aEvent: [Bool] = [true, true, false, true, false, true, true, false, true, true, false, true, false, false, true, false]
    static let aRisk: [Double] = [2.0, 1.5, 1.5, 0.3, 1.0, 1.5, 0.7, 0.7, 0.2, 0.9, 0.1, 0.2, -0.4, 0.0, -1.0, -0.2]
    static let aTimes: [Double] = [2.0, 4.0, 6.0, 8.0]
    static let aBaseline: [Double] = [0.9, 0.75, 0.6, 0.45]
    static let aTau = 7.0
    static let aHarrell = 0.8461538461538461  // concordant 64, discordant 10, tied risk 4, tied time 4; lifelines agrees
    static let aHarrellCounts = (64, 10, 4, 4)
    static let aUno = 0.7975893234126126
    static let aUnoTau = 0.8454065414951771
    static let aAUC: [Double] = [0.8432017543859649, 0.9208523592085236, 0.9863265842755718, 1.0]
    static let aMeanAUC = 0.9272767720699312
    static let aBrier: [Double] = [0.11706436991970623, 0.12857503770533674, 0.12589204694906556, 0.12450085788027418]
    static let aIBS = 0.12508323285146417
    static let aKMTimes: [Double] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    static let aKMSurvival: [Double] = [0.9375, 0.8125, 0.8125, 0.6647727272727272, 0.5909090909090908, 0.5064935064935064, 0.5064935064935064, 0.40519480519480516, 0.40519480519480516, 0.20259740259740258, 0.20259740259740258]
    static let aCensoringSurvival: [Double] = [1.0, 0.9230769230769231, 0.8461538461538461, 0.8461538461538461, 0.7403846153846154, 0.7403846153846154, 0.6169871794871795, 0.46274038461538464, 0.3084935897435898, 0.3084935897435898, 0.0]
    // Data set B (numpy default_rng(5)).
    static let bTime: [Double] = [11.0, 11.0, 5.0, 3.0, 8.0, 11.0, 1.0, 11.0, 1.0, 4.0, 8.0, 9.0, 14.0, 4.0, 3.0, 4.0, 11.0, 2.0, 22.0, 2.0, 4.0, 3.0, 2.0, 13.0, 14.0, 3.0, 22.0, 2.0, 12.0, 2.0, 1.0, 5.0, 7.0, 11.0, 23.0, 13.0, 12.0, 4.0, 15.0, 9.0]
    static let bEvent: [Bool] = [false, true, true, true, false, false, false, false, true, true, true, false, true, true, true, false, false, false, true, true, false, true, true, false, false, false, false, true, false, false, false, false, true, true, false, false, false, true, true, false]
    static let bRisk: [Double] = [-0.8, -1.3, -0.2, 0.4, 1.1, 0.1, -0.6, -0.8, 0.7, 1.6, 0.3, -1.2, -1.0, 1.6, 0.2, -1.7, -0.1, -1.2, -0.6, -0.5, -0.7, 0.6, -0.1, -0.6, 0.4, 0.8, -1.6, -0.3, -1.0, -0.2, -1.3, 0.0, -0.0, -0.3, -1.0, -0.4, -1.1, -1.4, 0.2, -1.1]
    static let bTimes: [Double] = [3.0, 6.0, 9.0, 12.0]
    static let bBaseline: [Double] = [0.8, 0.65, 0.5, 0.4]
    static let bTau = 10.0
    static let bHarrell = 0.6878109452736318  // concordant 274, discordant 123, tied risk 5, tied time 29; lifelines agrees
    static let bHarrellCounts = (274, 123, 5, 29)
    static let bUno = 0.6930169147432125
    static let bUnoTau = 0.7142249762634875
    static let bAUC: [Double] = [0.7504364487971046, 0.7499989380668068, 0.8108485420742679, 0.7175550547560814]
    static let bMeanAUC = 0.7534499003356805
    static let bBrier: [Double] = [0.16385443900795896, 0.17867421510254797, 0.17319755812953253, 0.22980770585650231]
    static let bIBS = 0.1829009485547704
    static let bKMTimes: [Double] = [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0, 11.0, 12.0, 13.0, 14.0, 15.0, 22.0, 23.0]
    static let bKMSurvival: [Double] = [0.975, 0.8959459459459459, 0.8119510135135135, 0.7249562620656371, 0.6934364245845225, 0.6604156424614499, 0.6273948603383773, 0.6273948603383773, 0.5489705027960802, 0.5489705027960802, 0.5489705027960802, 0.4574754189967335, 0.34310656424755015, 0.2287377094983668, 0.2287377094983668]
    static let bCensoringSurvival: [Double] = [0.9487179487179487, 0.8929110105580693, 0.8621209757112394, 0.7931512976543402, 0.7570989659427794, 0.7570989659427794, 0.717251651945791, 0.6375570239518141, 0.4553978742512958, 0.36431829940103666, 0.27323872455077747, 0.218590979640622, 0.218590979640622, 0.109295489820311, 0.0]
    // Uno's C on data set A with G from a training set
    static let trainTime: [Double] = [1.0, 3.0, 3.0, 4.0, 6.0, 8.0, 9.0, 12.0, 12.0, 14.0]
    static let trainEvent: [Bool] = [false, true, false, false, true, false, true, false, true, false]
    static let aUnoTrained = 0.8489065606361829
    // AUROC (scikit-learn roc_auc_score)
    static let labels: [Bool] = [true, false, true, true, false, false, true, false, false, true, false, true]
    static let scores: [Double] = [0.9, 0.9, 0.8, 0.5, 0.5, 0.5, 0.4, 0.3, 0.3, 0.3, 0.1, 0.05]
    static let auroc = 0.5416666666666666
    // all risks tied on data set A: Harrell 0.5, Uno 0.5
}

final class SurvivalMetricsTests: XCTestCase {
    private let tolerance = 1e-9

    private func assertEqual(_ actual: [Double], _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: tolerance, file: file, line: line) }
    }

    private func assertInvalidData(_ expression: @autoclosure () throws -> some Any, mentioning phrase: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? FedCTError else { return XCTFail("not a FedCTError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.code, .invalidData, file: file, line: line)
            XCTAssertTrue(error.message.contains(phrase), "\"\(error.message)\" does not mention \"\(phrase)\"", file: file, line: line)
        }
    }

    // MARK: Harrell's C

    func testHarrellMatchesScikitSurvivalAndLifelines() throws {
        for (time, event, risk, expected, counts) in [
            (Reference.aTime, Reference.aEvent, Reference.aRisk, Reference.aHarrell, Reference.aHarrellCounts),
            (Reference.bTime, Reference.bEvent, Reference.bRisk, Reference.bHarrell, Reference.bHarrellCounts),
        ] {
            let c = try ConcordanceIndex.harrellConcordance(time: time, event: event, risk: risk)
            XCTAssertEqual(c.value, expected, accuracy: tolerance)
            XCTAssertEqual(c.concordant, counts.0)
            XCTAssertEqual(c.discordant, counts.1)
            XCTAssertEqual(c.tiedRisk, counts.2)
            XCTAssertEqual(c.tiedTime, counts.3)
            XCTAssertEqual(ConcordanceIndex.harrell(time: time, event: event, risk: risk)!, expected, accuracy: tolerance)
        }
    }

    func testHarrellAgreesWithPairCountingOnRandomTiedData() throws {
        var generator = TestGenerator(seed: 11)
        for _ in 0..<50 {
            let n = Int.random(in: 2...60, using: &generator)
            let time = (0..<n).map { _ in Double(Int.random(in: 1...8, using: &generator)) }
            let event = (0..<n).map { _ in Bool.random(using: &generator) }
            let risk = (0..<n).map { _ in Double(Int.random(in: 0...5, using: &generator)) }
            let expected = bruteForceHarrell(time: time, event: event, risk: risk)
            let actual = try? ConcordanceIndex.harrellConcordance(time: time, event: event, risk: risk)
            XCTAssertEqual(actual?.value, expected)
        }
    }

    /// The definition pair by pair, O(n²): i had an event and j outlived it (or was censored at i's time).
    private func bruteForceHarrell(time: [Double], event: [Bool], risk: [Double]) -> Double? {
        var score = 0.0
        var pairs = 0.0
        for i in time.indices where event[i] {
            for j in time.indices where time[i] < time[j] || (time[i] == time[j] && !event[j]) {
                pairs += 1
                score += risk[i] > risk[j] ? 1 : risk[i] == risk[j] ? 0.5 : 0
            }
        }
        return pairs > 0 ? score / pairs : nil
    }

    func testHarrellEdgeCases() throws {
        // Every risk tied: every comparable pair counts ½.
        XCTAssertEqual(try ConcordanceIndex.harrellConcordance(time: Reference.aTime, event: Reference.aEvent, risk: Array(repeating: 0, count: 16)).value, 0.5)
        assertInvalidData(try ConcordanceIndex.harrellConcordance(time: [1, 2, 3], event: [false, false, false], risk: [3, 2, 1]),
                          mentioning: "every one of the 3 subjects is censored")
        assertInvalidData(try ConcordanceIndex.harrellConcordance(time: [4], event: [true], risk: [1]), mentioning: "at least two subjects, got 1")
        assertInvalidData(try ConcordanceIndex.harrellConcordance(time: [1, 2], event: [true, false], risk: [1, .nan]), mentioning: "risk of subject 1 is NaN")
        assertInvalidData(try ConcordanceIndex.harrellConcordance(time: [1, 2], event: [true, false], risk: [1]), mentioning: "differ in length")
        // The only event is at the last time: no pair can be ordered.
        assertInvalidData(try ConcordanceIndex.harrellConcordance(time: [1, 2, 5], event: [false, false, true], risk: [1, 2, 3]), mentioning: "no comparable pairs")
        XCTAssertNil(ConcordanceIndex.harrell(time: [1, 2], event: [true, false], risk: [1, .nan]))
        // Two events at the same time are not comparable; an event and a censoring at that time are.
        let tiedTimes = try ConcordanceIndex.harrellConcordance(time: [3, 3, 3], event: [true, true, false], risk: [2, 1, 0])
        XCTAssertEqual(tiedTimes.comparable, 2)
        XCTAssertEqual(tiedTimes.tiedTime, 2)
        XCTAssertEqual(tiedTimes.value, 1)
    }

    // MARK: Uno's C

    func testUnoMatchesScikitSurvival() throws {
        XCTAssertEqual(try ConcordanceIndex.uno(time: Reference.aTime, event: Reference.aEvent, risk: Reference.aRisk).value, Reference.aUno, accuracy: tolerance)
        XCTAssertEqual(try ConcordanceIndex.uno(time: Reference.aTime, event: Reference.aEvent, risk: Reference.aRisk, tau: Reference.aTau).value,
                       Reference.aUnoTau, accuracy: tolerance)
        XCTAssertEqual(try ConcordanceIndex.uno(time: Reference.bTime, event: Reference.bEvent, risk: Reference.bRisk).value, Reference.bUno, accuracy: tolerance)
        XCTAssertEqual(try ConcordanceIndex.uno(time: Reference.bTime, event: Reference.bEvent, risk: Reference.bRisk, tau: Reference.bTau).value,
                       Reference.bUnoTau, accuracy: tolerance)
        XCTAssertEqual(try ConcordanceIndex.uno(time: Reference.aTime, event: Reference.aEvent, risk: Reference.aRisk,
                                                censoringTime: Reference.trainTime, censoringEvent: Reference.trainEvent).value,
                       Reference.aUnoTrained, accuracy: tolerance)
        XCTAssertEqual(try ConcordanceIndex.uno(time: Reference.aTime, event: Reference.aEvent, risk: Array(repeating: 1, count: 16)).value, 0.5)
    }

    func testUnoEdgeCases() {
        // Everyone still followed at time 3 is censored there, so G(3) = 0 and the event at 3 has infinite weight.
        assertInvalidData(try ConcordanceIndex.uno(time: [1, 2, 3, 3], event: [true, false, true, false], risk: [3, 2, 1, 0]),
                          mentioning: "censoring survival function is 0 at time 3")
        assertInvalidData(try ConcordanceIndex.uno(time: [1, 2, 3, 4], event: [true, false, true, false], risk: [3, 2, 1, 0], tau: 0.5),
                          mentioning: "no comparable pairs carry weight")
        assertInvalidData(try ConcordanceIndex.uno(time: [1, 2, 3, 9], event: [true, false, true, true], risk: [3, 2, 1, 0],
                                                   censoringTime: [1, 5], censoringEvent: [false, true]),
                          mentioning: "beyond the last time")
    }

    // MARK: Kaplan–Meier

    func testKaplanMeierMatchesScikitSurvivalAndLifelines() throws {
        for (time, event, times, survival, censoring) in [
            (Reference.aTime, Reference.aEvent, Reference.aKMTimes, Reference.aKMSurvival, Reference.aCensoringSurvival),
            (Reference.bTime, Reference.bEvent, Reference.bKMTimes, Reference.bKMSurvival, Reference.bCensoringSurvival),
        ] {
            let km = try KaplanMeier(time: time, event: event)
            XCTAssertEqual(km.times, times)
            assertEqual(km.survival, survival)
            assertEqual(try KaplanMeier.censoringDistribution(time: time, event: event).survival, censoring)
            XCTAssertEqual(km(0.5), 1)
            XCTAssertEqual(km(times[1] + 0.5), km.survival[1])
        }
        XCTAssertEqual(try KaplanMeier(time: [1, 2], event: [false, false]).survival, [1, 1])
    }

    // MARK: AUROC and time-dependent AUC

    func testAUROCMatchesScikitLearn() throws {
        XCTAssertEqual(try AUROC.value(labels: Reference.labels, scores: Reference.scores), Reference.auroc, accuracy: tolerance)
        XCTAssertEqual(try AUROC.value(labels: [true, false, true], scores: [1, 1, 1]), 0.5)
        XCTAssertEqual(try AUROC.value(labels: [true, false], scores: [2, 1]), 1)
        assertInvalidData(try AUROC.value(labels: [true, true], scores: [0, 1]), mentioning: "needs both classes: 2 of 2")
        assertInvalidData(try AUROC.value(labels: [true, false], scores: [.nan, 1]), mentioning: "score of subject 0 is NaN")
    }

    func testCumulativeDynamicAUCMatchesScikitSurvival() throws {
        let a = try TimeDependentAUC.cumulativeDynamic(time: Reference.aTime, event: Reference.aEvent, risk: Reference.aRisk, at: Reference.aTimes)
        assertEqual(a.auc, Reference.aAUC)
        XCTAssertEqual(a.mean, Reference.aMeanAUC, accuracy: tolerance)
        let b = try TimeDependentAUC.cumulativeDynamic(time: Reference.bTime, event: Reference.bEvent, risk: Reference.bRisk, at: Reference.bTimes)
        assertEqual(b.auc, Reference.bAUC)
        XCTAssertEqual(b.mean, Reference.bMeanAUC, accuracy: tolerance)
        assertInvalidData(try TimeDependentAUC.cumulativeDynamic(time: Reference.aTime, event: Reference.aEvent, risk: Reference.aRisk, at: [2, 11]),
                          mentioning: "within the follow-up [1.0, 11.0)")
        assertInvalidData(try TimeDependentAUC.cumulativeDynamic(time: [1, 2, 3], event: [false, true, false], risk: [1, 2, 3], at: [1]),
                          mentioning: "no subject has an event at or before time 1")
        // G(4) = 0 (the only subject followed past the event at 4 is censored at 4), but AUC(2) needs no weight at 4:
        // the case (risk 5, event at 1) outranks 2 of the 3 controls. scikit-survival refuses here.
        let early = try TimeDependentAUC.cumulativeDynamic(time: [1, 2, 3, 4, 4], event: [true, false, true, true, false], risk: [5, 0, 1, 6, 2], at: [2])
        XCTAssertEqual(early.auc, [2.0 / 3])
        // With G from other data it can reach 0 before the last time (here at 3, every later subject censored).
        assertInvalidData(try TimeDependentAUC.cumulativeDynamic(time: [1, 2, 3, 4, 4, 5], event: [true, false, true, true, false, false],
                                                                 risk: [5, 0, 1, 6, 2, 0], at: [2, 4],
                                                                 censoringTime: [1, 2, 3], censoringEvent: [true, false, false]),
                          mentioning: "censoring survival function is 0 at event time 3")
    }

    // MARK: Brier score

    func testBrierScoresMatchScikitSurvival() throws {
        for (time, event, risk, times, baseline, brier, ibs) in [
            (Reference.aTime, Reference.aEvent, Reference.aRisk, Reference.aTimes, Reference.aBaseline, Reference.aBrier, Reference.aIBS),
            (Reference.bTime, Reference.bEvent, Reference.bRisk, Reference.bTimes, Reference.bBaseline, Reference.bBrier, Reference.bIBS),
        ] {
            let survival = BrierScore.coxSurvival(baseline: baseline, risk: risk)
            assertEqual(try BrierScore.scores(time: time, event: event, survival: survival, at: times), brier)
            XCTAssertEqual(try BrierScore.integrated(time: time, event: event, survival: survival, at: times), ibs, accuracy: tolerance)
        }
    }

    func testBrierScoreEdgeCases() {
        let survival = BrierScore.coxSurvival(baseline: Reference.aBaseline, risk: Reference.aRisk)
        assertInvalidData(try BrierScore.integrated(time: Reference.aTime, event: Reference.aEvent, survival: survival.map { [$0[0]] }, at: [2]),
                          mentioning: "at least two time points")
        var outOfRange = survival
        outOfRange[3][1] = 1.2
        assertInvalidData(try BrierScore.scores(time: Reference.aTime, event: Reference.aEvent, survival: outOfRange, at: Reference.aTimes),
                          mentioning: "subject 3 at time 4.0 is 1.2")
        assertInvalidData(try BrierScore.scores(time: Reference.aTime, event: Reference.aEvent, survival: survival, at: [4, 2, 6, 8]),
                          mentioning: "strictly increasing")
    }

    // MARK: Bootstrap

    func testBootstrapIsSeededAndBracketsTheEstimate() throws {
        let statistic: ([Int]) throws -> Double = { rows in
            try ConcordanceIndex.harrellConcordance(time: rows.map { Reference.bTime[$0] }, event: rows.map { Reference.bEvent[$0] },
                                                    risk: rows.map { Reference.bRisk[$0] }).value
        }
        var first = TestGenerator(seed: 1)
        var second = TestGenerator(seed: 1)
        let interval = try Bootstrap.percentileInterval(rows: 40, replicates: 200, generator: &first, statistic: statistic)
        XCTAssertEqual(try Bootstrap.percentileInterval(rows: 40, replicates: 200, generator: &second, statistic: statistic), interval)
        XCTAssertEqual(interval.estimate, Reference.bHarrell, accuracy: tolerance)
        XCTAssertLessThan(interval.lower, interval.estimate)
        XCTAssertGreaterThan(interval.upper, interval.estimate)
        XCTAssertLessThan(interval.upper - interval.lower, 0.4)
        XCTAssertEqual(interval.replicates + interval.failed, 200)
    }

    func testBootstrapQuantilesInterpolateAsNumpy() throws {
        // numpy.percentile([1, 2, 3, 4, 10], [2.5, 97.5]) = [1.1, 9.4].
        XCTAssertEqual(Bootstrap.quantile([1, 2, 3, 4, 10], 0.025), 1.1, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile([1, 2, 3, 4, 10], 0.975), 9.4, accuracy: 1e-12)
        var generator = TestGenerator(seed: 3)
        let constant = try Bootstrap.percentileInterval(rows: 5, replicates: 10, generator: &generator) { _ in 0.7 }
        XCTAssertEqual([constant.lower, constant.estimate, constant.upper], [0.7, 0.7, 0.7])
        // A statistic defined only on resamples without repeated rows (almost none of them): the interval is refused.
        var sparse = TestGenerator(seed: 4)
        assertInvalidData(try Bootstrap.percentileInterval(rows: 30, replicates: 100, generator: &sparse) { rows in
            guard Set(rows).count == rows.count else { throw FedCTError(.invalidData, "repeated row") }
            return 1
        }, mentioning: "undefined on")
    }
}

// Tests of task derivation on a small hand-made event table: ancestors, prevalence, entropy ranking, top-K, piece edges, base rates, censoring, two-site sums.
@testable import FedCTCore
import Foundation
import XCTest

final class TaskDerivationTests: XCTestCase {
    /// PE (I26) and PH (I27) are under I2, itself under I.
    let ontology = try! TaskOntology(links: [("I26", "I2"), ("I27", "I2"), ("I2", "I")], source: "ontology.csv")

    /// Events (days since the epoch) of six subjects; every patient with follow-up has ALL after its index; END rows end
    /// p2's, p3's and p4's records (p5's at its index).
    let events: [(subject: String, day: Double, code: String)] = [
        ("p1", 50, "X"), ("p1", 101, "ALL"), ("p1", 150, "I26"), ("p1", 400, "DEATH"),
        ("p2", 101, "ALL"), ("p2", 200, "I27"), ("p2", 500, "END"),
        ("p3", 90, "I26"), ("p3", 101, "ALL"), ("p3", 300, "END"),
        ("p4", 201, "ALL"), ("p4", 250, "END"),
        ("p5", 100, "END"),
        ("p6", 101, "ALL"), ("p6", 120, "I26"), ("p6", 160, "DEATH"),
    ]
    /// One scan each, p6 two (its second, at day 130, is after its I26).
    let scans: [(subject: String, indexDay: Double)] = [("p1", 100), ("p2", 100), ("p3", 100), ("p4", 200), ("p5", 100), ("p6", 100), ("p6", 130)]

    func timelines(subjects: Set<String>? = nil) -> CodeTimelines {
        var timelines = CodeTimelines()
        for event in events where subjects?.contains(event.subject) ?? true { timelines.add(subject: event.subject, day: event.day, code: event.code) }
        return timelines
    }

    func followUps(subjects: Set<String>? = nil) -> [ScanFollowUp] {
        timelines(subjects: subjects).followUps(scans: scans.filter { subjects?.contains($0.subject) ?? true }, ontology: ontology).followUps
    }

    func testFollowUpCountsAncestorsAndOnlyEventsAfterTheIndex() {
        let result = timelines().followUps(scans: scans, ontology: ontology)
        XCTAssertEqual(result.skipped, 1, "p5's record ends at its index")
        let p1 = result.followUps[0]
        XCTAssertEqual(p1.firstEventDays, ["ALL": 1, "I26": 50, "I2": 50, "I": 50, "DEATH": 300], "X is before the index")
        XCTAssertEqual(p1.followUpDays, 300)
        XCTAssertEqual(result.followUps[2].firstEventDays, ["ALL": 1, "END": 200], "p3's I26 is before its index")
        XCTAssertEqual(result.followUps[5].firstEventDays, ["DEATH": 30], "p6's second scan is after its I26 and ALL")
    }

    func testOntologyCycleIsAnErrorNamingTheCodes() {
        XCTAssertThrowsError(try TaskOntology(links: [("A", "B"), ("B", "C"), ("C", "A")], source: "site-1/ontology.csv")) { error in
            XCTAssertTrue("\(error)".contains("site-1/ontology.csv"), "\(error)")
            XCTAssertTrue("\(error)".contains("A → B → C → A"), "\(error)")
        }
        XCTAssertEqual(ontology.expand("I27"), ["I27", "I2", "I"])
        XCTAssertEqual(TaskOntology.none.expand("I27"), ["I27"])
    }

    func testCandidatesNeedEnoughPatientsAtTheSite() {
        XCTAssertEqual(TaskStatistics.candidates(followUps(), minPatients: 2), ["ALL", "DEATH", "END", "I", "I2", "I26"], "I27: one patient")
        XCTAssertEqual(TaskStatistics.candidates(followUps(), minPatients: 1), ["ALL", "DEATH", "END", "I", "I2", "I26", "I27"])
        XCTAssertEqual(TaskStatistics.candidates(followUps(), minPatients: 4), ["ALL"])
    }

    func testPrevalenceAndEntropyRankingWithTopK() throws {
        let candidates = ["ALL", "DEATH", "I", "I2", "I26", "I27"]
        let prevalence = TaskStatistics.prevalence(followUps(), candidates: candidates)
        // 5 patients with follow-up; DEATH p1 p6; I and I2 p1 p2 p6; I26 p1 p6; I27 p2.
        XCTAssertEqual(prevalence, [5, 5, 2, 3, 3, 2, 1])
        let ranked = try TaskDerivation.rank(candidates: candidates, prevalenceSum: prevalence, maxTasks: 10)
        // ALL (p = 1) carries nothing; H(0.4) = H(0.6) > H(0.2); ties by name.
        XCTAssertEqual(ranked.map(\.code), ["DEATH", "I", "I2", "I26", "I27"])
        XCTAssertEqual(ranked[0].entropy, -0.4 * log(0.4) - 0.6 * log(0.6), accuracy: 1e-12)
        XCTAssertEqual(ranked[4].prevalence, 0.2, accuracy: 1e-12)
        XCTAssertEqual(try TaskDerivation.rank(candidates: candidates, prevalenceSum: prevalence, maxTasks: 3).map(\.code), ["DEATH", "I", "I2"])
        XCTAssertThrowsError(try TaskDerivation.rank(candidates: candidates, prevalenceSum: [5, 1], maxTasks: 3))
    }

    func testRatesEdgesAndBaseRatesByHand() throws {
        let grid = EventTimeGrid.standard
        let tasks = ["DEATH", "I26"]
        let layout = TaskStatistics.RatesLayout(tasks: 2, grid: grid)
        let rates = TaskStatistics.rates(followUps(), tasks: tasks, grid: grid)
        // DEATH: events at 300 (p1), 60 (p6a), 30 (p6b); censored p2 400, p3 200, p4 50: 1040 days.
        // I26: events at 50 (p1), 20 (p6a); censored p2 400, p3 200, p4 50, p6b 30: 750 days.
        XCTAssertEqual(Array(rates[0..<6]), [3, 2, 3, 4, 1040 * 24, 750 * 24])
        XCTAssertEqual(rates[layout.histogram...].reduce(0, +), 5)
        for day in [20.0, 30, 50, 60, 300] { XCTAssertEqual(rates[layout.histogram + grid.bin(of: day)], 1, "event at day \(day)") }

        // Quartiles of 20, 30, 50, 60, 300: the 2nd, 3rd and 4th events.
        let edges = try TaskDerivation.pieceEdges(histogram: Array(rates[layout.histogram...]), grid: grid, pieces: 4)
        XCTAssertEqual(edges.count, 4)
        XCTAssertEqual(edges.last, 36_525, "the last edge is the grid's end")
        for (edge, day) in zip(edges, [30.0, 50, 60]) {
            XCTAssertGreaterThanOrEqual(edge, day)
            XCTAssertLessThan(edge, day * 1.022, "within one bin of the percentile")
        }

        let bias = try TaskDerivation.log2BaseHazardPerYear(ratesSum: rates, layout: layout, tasks: tasks)
        // events / (events + censored) / mean observed time, per year.
        XCTAssertEqual(Double(bias[0]), log2(3.0 / 6 / (1040.0 / 6 / 365.25)), accuracy: 1e-5)
        XCTAssertEqual(Double(bias[1]), log2(2.0 / 6 / (750.0 / 6 / 365.25)), accuracy: 1e-5)
    }

    /// The head's hazard 2^bias with TTELabeler's targets (years at risk): the base rate is the constant hazard of least loss.
    func testBaseRateMinimisesTheLossInTheLabelersUnits() throws {
        let grid = EventTimeGrid.standard
        let scans = followUps()
        let rates = TaskStatistics.rates(scans, tasks: ["DEATH"], grid: grid)
        let bias = try TaskDerivation.log2BaseHazardPerYear(ratesSum: rates, layout: .init(tasks: 1, grid: grid), tasks: ["DEATH"])[0]
        let labeler = TTELabeler(taskCodes: ["DEATH"], pieceEdgesDays: [100, grid.lastEdgeDays])
        let targets = scans.map { labeler.labels(firstEventDays: $0.firstEventDays, followUpDays: $0.followUpDays) }
        func loss(_ log2Hazard: Double) -> Double {
            let hazard = pow(2, log2Hazard)
            var total = 0.0
            for target in targets {
                for (time, event) in zip(target.timeAtRisk, target.events) { total += hazard * Double(time) - Double(event) * log(hazard) }
            }
            return total
        }
        XCTAssertLessThan(loss(Double(bias)), loss(Double(bias) + 0.01))
        XCTAssertLessThan(loss(Double(bias)), loss(Double(bias) - 0.01))
    }

    func testEventsBeyondTheGridEndAreCensoredThere() {
        let grid = EventTimeGrid(firstEdgeDays: 1, lastEdgeDays: 100, bins: 8)
        let scan = ScanFollowUp(subject: "s", firstEventDays: ["X": 150], followUpDays: 200)
        let rates = TaskStatistics.rates([scan], tasks: ["X"], grid: grid)
        XCTAssertEqual(Array(rates[0..<3]), [0, 1, 100 * 24], "censored at the last edge, observed 100 days")
        let labels = TTELabeler(taskCodes: ["X"], pieceEdgesDays: [100]).labels(firstEventDays: scan.firstEventDays, followUpDays: scan.followUpDays)
        XCTAssertEqual(labels.events, [0], "the labeler agrees")
    }

    func testGridBinsHoldTheirTimes() {
        let grid = EventTimeGrid.standard
        for day in [0.5, 1, 1.0001, 2, 29.9, 30, 365.25, 10_000, 36_524, 36_525, 50_000] {
            let bin = grid.bin(of: day)
            XCTAssertTrue(day <= grid.upperEdges[bin] || bin == grid.bins - 1, "\(day) in bin \(bin)")
            XCTAssertTrue(bin == 0 || day > grid.upperEdges[bin - 1], "\(day) in bin \(bin)")
        }
        XCTAssertEqual(grid.upperEdges[1] / grid.upperEdges[0], pow(36_525, 1.0 / 511), accuracy: 1e-12)
    }

    func testTwoSitesSummedEqualThePooledComputation() throws {
        let siteA: Set = ["p1", "p2", "p3"]
        let siteB: Set = ["p4", "p5", "p6"]
        let union = TaskDerivation.union([TaskStatistics.candidates(followUps(subjects: siteA), minPatients: 1),
                                          TaskStatistics.candidates(followUps(subjects: siteB), minPatients: 1)])
        XCTAssertEqual(union, TaskStatistics.candidates(followUps(), minPatients: 1))
        func add(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] { zip(a, b).map(+) }
        let prevalence = add(TaskStatistics.prevalence(followUps(subjects: siteA), candidates: union),
                             TaskStatistics.prevalence(followUps(subjects: siteB), candidates: union))
        XCTAssertEqual(prevalence, TaskStatistics.prevalence(followUps(), candidates: union))
        let tasks = try TaskDerivation.rank(candidates: union, prevalenceSum: prevalence, maxTasks: 4).map(\.code)
        let grid = EventTimeGrid.standard
        let rates = add(TaskStatistics.rates(followUps(subjects: siteA), tasks: tasks, grid: grid),
                        TaskStatistics.rates(followUps(subjects: siteB), tasks: tasks, grid: grid))
        XCTAssertEqual(rates, TaskStatistics.rates(followUps(), tasks: tasks, grid: grid))
    }

    func testSetupStagesAreNeverTrainingRoundsAndBindTheirList() {
        XCTAssertEqual(TaskSetupStage.allCases.map(\.wireRound), [0, -1, -2])
        XCTAssertEqual(JobStep(wireRound: -1, setupSteps: TaskSetupStage.steps), .setup(TaskSetupStage.prevalence.step))
        XCTAssertEqual(JobStep(wireRound: 1, setupSteps: TaskSetupStage.steps), .round(1))
        XCTAssertNil(JobStep(wireRound: -3, setupSteps: TaskSetupStage.steps))
        XCTAssertNil(JobStep(wireRound: 0, setupSteps: []), "a job without a setup stage has no step 0")
        XCTAssertNotEqual(TaskSetupStage.prevalence.listSHA256(["A", "B"]), TaskSetupStage.rates.listSHA256(["A", "B"]))
        XCTAssertNotEqual(TaskSetupStage.rates.listSHA256(["AB"]), TaskSetupStage.rates.listSHA256(["A", "B"]))
    }
}

// Tests of the time-to-event targets and survival metrics against hand computations.
@testable import FedCTCore
import XCTest

final class TimeToEventTests: XCTestCase {
    func testLabelsSplitTimeAtRiskAcrossPieces() {
        let labeler = TTELabeler(taskCodes: ["DEATH", "PE"], pieceEdgesDays: [100, 300])
        // DEATH at day 150 (piece 2), PE never (censored at follow-up day 250).
        let (risk, events) = labeler.labels(firstEventDays: ["DEATH": 150], followUpDays: 250)
        let year = Float(365.25)
        // Layout [piece][task]: piece 1 = [0..100), piece 2 = [100..300).
        XCTAssertEqual(risk[0], 100 / year, accuracy: 1e-6)   // DEATH, piece 1
        XCTAssertEqual(risk[1], 100 / year, accuracy: 1e-6)   // PE, piece 1
        XCTAssertEqual(risk[2], 50 / year, accuracy: 1e-6)    // DEATH, piece 2 (event at 150)
        XCTAssertEqual(risk[3], 150 / year, accuracy: 1e-6)   // PE, piece 2 (censored at 250)
        XCTAssertEqual(events, [0, 0, 1, 0])
    }

    func testEventsBeyondTheLastEdgeAreCensoredThere() {
        let labeler = TTELabeler(taskCodes: ["X"], pieceEdgesDays: [10])
        let (risk, events) = labeler.labels(firstEventDays: ["X": 20], followUpDays: 30)
        XCTAssertEqual(risk, [Float(10 / 365.25)])
        XCTAssertEqual(events, [0])
    }

    func testHarrellCByHand() {
        // Comparable pairs (i had the event before j's time): (0,1) (0,2) (0,3) (2,1) (2,3).
        // Risk orders them: concordant, tie (½), discordant, concordant, discordant → 2.5 / 5.
        let c = ConcordanceIndex.harrell(time: [1, 5, 2, 4], event: [true, false, true, false], risk: [2, 1, 2, 3])
        XCTAssertEqual(c!, 2.5 / 5, accuracy: 1e-12)
        XCTAssertNil(ConcordanceIndex.harrell(time: [1, 2], event: [false, false], risk: [0, 1]))
    }

    func testCoxProbeRanksByTheInformativeFeature() throws {
        // Time falls with the first feature; the second is noise.
        var features: [[Double]] = []
        var time: [Double] = []
        var event: [Bool] = []
        for index in 0..<60 {
            let signal = Double(index % 10)
            features.append([signal, Double((index * 7) % 5)])
            time.append(100 - 9 * signal + Double(index % 3))
            event.append(index % 4 != 0)
        }
        let cox = try CoxRegression.fit(features: features, time: time, event: event, l2: 0.1)
        XCTAssertGreaterThan(cox.coefficients[0], 0.5)
        XCTAssertLessThan(abs(cox.coefficients[1]), abs(cox.coefficients[0]) / 5)
        let c = ConcordanceIndex.harrell(time: time, event: event, risk: features.map(cox.risk))!
        XCTAssertGreaterThan(c, 0.9)
        XCTAssertThrowsError(try CoxRegression.fit(features: features, time: time, event: event.map { _ in false }))
    }
}

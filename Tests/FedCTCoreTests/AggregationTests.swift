// Tests of PlainAggregator and Float32Stream: the weighted mean is exact whatever the chunking.
@testable import FedCTCore
import XCTest

final class AggregationTests: XCTestCase {
    func testWeightedMeanAcrossArbitraryChunks() throws {
        let updates: [(String, Int64, [Float])] = [("a", 10, [1, 2, 3, 4, 5]), ("b", 30, [5, 4, 3, 2, 1]), ("c", 60, [0, 0, 1, 0, -1])]
        var aggregator = PlainAggregator(coordinateCount: 5)
        for (index, (site, weight, values)) in updates.enumerated() {
            try aggregator.begin(site: site, weight: weight)
            let bytes = Float32Stream.encode(values[...])
            var stream = Float32Stream()
            // Cut the bytes at odd places so values straddle chunk boundaries.
            let cuts = [0, 3 + index, 9, 13, bytes.count]
            for (start, end) in zip(cuts, cuts.dropFirst()) {
                try stream.feed(bytes[start..<end]) { try aggregator.add($0) }
            }
            XCTAssertTrue(stream.isAligned)
            try aggregator.end()
        }
        let mean = try aggregator.weightedMean()
        for index in 0..<5 {
            let expected = updates.reduce(0.0) { $0 + Double($1.1) * Double($1.2[index]) } / 100
            XCTAssertEqual(Double(mean[index]), expected, accuracy: 1e-6)
        }
        XCTAssertEqual(aggregator.totalWeight, 100)
        XCTAssertEqual(aggregator.contributors, ["a", "b", "c"])
    }

    func testWrongLengthsAndDuplicatesAreRefused() throws {
        var aggregator = PlainAggregator(coordinateCount: 3)
        try aggregator.begin(site: "a", weight: 1)
        try [Float(1), 2].withUnsafeBufferPointer { try aggregator.add($0) }
        XCTAssertThrowsError(try aggregator.end()) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }
        var second = PlainAggregator(coordinateCount: 1)
        try second.begin(site: "a", weight: 1)
        XCTAssertThrowsError(try [Float(1), 2].withUnsafeBufferPointer { try second.add($0) })
        var third = PlainAggregator(coordinateCount: 1)
        try third.begin(site: "a", weight: 2)
        try [Float(1)].withUnsafeBufferPointer { try third.add($0) }
        try third.end()
        XCTAssertThrowsError(try third.begin(site: "a", weight: 2)) { XCTAssertEqual(($0 as? FedCTError)?.code, .protocolViolation) }
        XCTAssertThrowsError(try third.begin(site: "b", weight: 0)) { XCTAssertEqual(($0 as? FedCTError)?.code, .invalidData) }
    }
}

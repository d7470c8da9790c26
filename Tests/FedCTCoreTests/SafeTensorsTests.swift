// Tests of the safetensors codec: exact round trip, deterministic bytes, and clear errors on damaged blobs.
@testable import FedCTCore
import XCTest

final class SafeTensorsTests: XCTestCase {
    private func sample() throws -> ModelState {
        try ModelState(layout: [TensorLayout(name: "conv1.weight", shape: [2, 1, 3]), TensorLayout(name: "head.beta", shape: [2])],
                       values: [1.5, -2, .pi, 0, -0.0, 1e-30, 7, Float.greatestFiniteMagnitude], metadata: ["round": "3"])
    }

    func testRoundTripIsBitExactAndDeterministic() throws {
        let state = try sample()
        let bytes = SafeTensors.encode(state)
        XCTAssertEqual(bytes, SafeTensors.encode(state))
        let decoded = try SafeTensors.decode(bytes)
        XCTAssertEqual(decoded.layout, state.layout)
        XCTAssertEqual(decoded.values.map(\.bitPattern), state.values.map(\.bitPattern))
        XCTAssertEqual(decoded.metadata, ["round": "3"])
        // The header length is a multiple of 8, as the format requires.
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        XCTAssertEqual(headerLength % 8, 0)
    }

    func testDamagedBlobsAreRefused() throws {
        let bytes = SafeTensors.encode(try sample())
        XCTAssertThrowsError(try SafeTensors.decode(Array(bytes.dropLast(4)), source: "blob.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("blob.safetensors"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensors.decode([1, 2, 3]))
        var hugeHeader = bytes
        hugeHeader[7] = 0x7f
        XCTAssertThrowsError(try SafeTensors.decode(hugeHeader))
    }

    func testLayoutAndValueCountMustAgree() {
        XCTAssertThrowsError(try ModelState(layout: [TensorLayout(name: "w", shape: [3])], values: [1, 2]))
    }
}

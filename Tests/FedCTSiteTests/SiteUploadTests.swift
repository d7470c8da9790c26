// SiteUploadTests: the site's update built in place — the delta in the trained state's buffer, the payload read where it lies and hashed once.
import Crypto
import FedCTCore
@testable import FedCTSite
import Foundation
import XCTest

final class SiteUploadTests: XCTestCase {
    func testTheDeltaIsTrainedMinusGlobalWithTheLocalLayersZeroed() throws {
        let global: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        var state: [Float] = [1.5, 2, 2, 40, 50, 6.25, 70, 9]
        let finite = try RoundDelta.subtract(global, from: &state, zeroing: [6..<7, 3..<5, 4..<5])
        XCTAssertTrue(finite)
        XCTAssertEqual(state, [0.5, 0, -1, 0, 0, 0.25, 0, 1])
    }

    func testOnlyTheValuesSentMustBeFinite() throws {
        var local: [Float] = [1, .nan, 3]
        XCTAssertTrue(try RoundDelta.subtract([0, 0, 0], from: &local, zeroing: [1..<2]), "a layer that stays here is never sent")
        XCTAssertEqual(local, [1, 0, 3])
        var sent: [Float] = [1, .infinity, 3]
        XCTAssertFalse(try RoundDelta.subtract([0, 0, 0], from: &sent, zeroing: []))
    }

    func testAStateOfAnotherSizeIsRefused() {
        var state: [Float] = [1, 2]
        XCTAssertThrowsError(try RoundDelta.subtract([1, 2, 3], from: &state, zeroing: [])) { error in
            XCTAssertTrue("\(error)".contains("2 values") && "\(error)".contains("3"), "\(error)")
        }
    }

    func testThePayloadIsTheLittleEndianFloat32StreamItsHashAndItsChunks() {
        let values: [Float] = (0..<1000).map { Float($0) * 0.37 - 100 }
        let encoded = Float32Stream.encode(values[...])
        let payload = UpdatePayload(floats: values)
        XCTAssertEqual(payload.count, encoded.count)
        XCTAssertEqual(payload.sha256, SHA256.hex(encoded))
        XCTAssertEqual(payload.withBytes { Array($0) }, encoded)
        XCTAssertEqual(payload.chunk(1000..<1777), Data(encoded[1000..<1777]))
    }

    func testMaskedWordsAreSentLittleEndian() {
        let words: [UInt32] = [0x0102_0304, 0xA0B0_C0D0, 7]
        let payload = UpdatePayload(words: words)
        XCTAssertEqual(payload.withBytes { Array($0) }, [0x04, 0x03, 0x02, 0x01, 0xD0, 0xC0, 0xB0, 0xA0, 7, 0, 0, 0])
        XCTAssertEqual(payload.sha256, SHA256.hex([UInt8](payload.withBytes { Array($0) })))
    }
}

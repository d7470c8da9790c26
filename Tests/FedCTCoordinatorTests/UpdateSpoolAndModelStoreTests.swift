// Tests of what the coordinator keeps on disk: spooled updates are checked before use, model blobs by their hash.
import Crypto
@testable import FedCTCoordinator
import FedCTCore
import Foundation
import XCTest

final class UpdateSpoolAndModelStoreTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-coord-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testSpoolAcceptsOnlyTheAnnouncedBytes() throws {
        let payload = Float32Stream.encode([1, 2, 3, 4][...])
        let good = try UpdateSpool(url: folder.appending(path: "a.f32"), expectedBytes: payload.count)
        try good.append(Array(payload[0..<5]))
        try good.append(Array(payload[5...]))
        let url = try good.finish(expectedSHA256: SHA256.hex(payload))
        XCTAssertEqual(try Data(contentsOf: url), Data(payload))

        let short = try UpdateSpool(url: folder.appending(path: "b.f32"), expectedBytes: payload.count)
        try short.append(Array(payload[0..<8]))
        XCTAssertThrowsError(try short.finish(expectedSHA256: SHA256.hex(payload))) { XCTAssertTrue("\($0)".contains("8 of 16"), "\($0)") }

        let tampered = try UpdateSpool(url: folder.appending(path: "c.f32"), expectedBytes: payload.count)
        try tampered.append(Float32Stream.encode([1, 2, 3, 5][...]))
        XCTAssertThrowsError(try tampered.finish(expectedSHA256: SHA256.hex(payload))) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }

        let long = try UpdateSpool(url: folder.appending(path: "d.f32"), expectedBytes: 4)
        XCTAssertThrowsError(try long.append(payload)) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }
    }

    func testSpoolRefusesNonFiniteValues() throws {
        let payload = Float32Stream.encode([1, 2, .nan, 4][...])
        let spool = try UpdateSpool(url: folder.appending(path: "nan.f32"), expectedBytes: payload.count)
        try spool.append(Array(payload[0..<6]))
        XCTAssertThrowsError(try spool.append(Array(payload[6...]))) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidData)
            XCTAssertTrue("\(error)".contains("coordinate 2"), "\(error)")
        }
        spool.discard()
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appending(path: "nan.f32").path))
    }

    func testModelStoreIsContentAddressedAndDetectsCorruption() throws {
        let store = try ModelStore(folder: folder.appending(path: "blobs"))
        let bytes: [UInt8] = Array("model".utf8)
        let sha = try store.put(bytes)
        XCTAssertEqual(sha, SHA256.hex(bytes))
        XCTAssertEqual(try store.get(sha), bytes)
        XCTAssertEqual(try store.put(bytes), sha, "storing the same bytes again is a no-op")
        try Data("mod3l".utf8).write(to: store.url(for: sha))
        XCTAssertThrowsError(try store.get(sha)) { XCTAssertEqual(($0 as? FedCTError)?.code, .integrity) }
        XCTAssertThrowsError(try store.get("../../etc/passwd")) { XCTAssertEqual(($0 as? FedCTError)?.code, .notFound) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.folder.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "atomic writes leave no temporary files")
    }
}

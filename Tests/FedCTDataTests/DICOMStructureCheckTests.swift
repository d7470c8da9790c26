// Tests of the DICOM bridge's structure check, the walk every read runs before GDCM sees a file.
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class DICOMStructureCheckTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-dicom-structure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testEveryCommittedFixturePasses() throws {
        let fixtures = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/dicom", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".dcm") }
        XCTAssertEqual(files.count, 6)
        for name in files { XCTAssertNoThrow(try DICOMFile.checkStructure(path: fixtures.appending(path: name).path), name) }
    }

    func testSequencesNestedWithinTheLimitPass() throws {
        XCTAssertNoThrow(try DICOMFile.checkStructure(path: write(nestedSequences(depth: 60), as: "nested-60.dcm")))
    }

    /// A hostile file of deeply nested sequences would run the recursive walk out of a reader thread's stack.
    func testSequencesNestedTooDeepAreRefusedNamingTheFileAndTheDepth() throws {
        let path = try write(nestedSequences(depth: 5000), as: "nested-5000.dcm")
        XCTAssertThrowsError(try DICOMFile.checkStructure(path: path)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidData)
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("nest more than 64 deep"), "\(error)")
        }
        XCTAssertThrowsError(try DICOMFile(path: path, readPixels: false)) { XCTAssertTrue("\($0)".contains("64 deep"), "\($0)") }
    }

    func testALengthRunningPastTheEndNamesTheElementAndTheByte() throws {
        // (0010,0010) PatientName, implicit VR, claiming 1000 bytes of a 20-byte file.
        let path = try write(tag(0x0010, 0x0010) + uint32(1000) + Array(repeating: 0x41, count: 12), as: "long.dcm")
        XCTAssertThrowsError(try DICOMFile.checkStructure(path: path)) { error in
            XCTAssertTrue("\(error)".contains("element (0010,0010) of 1000 bytes runs past the end of the file"), "\(error)")
            XCTAssertTrue("\(error)".contains("at byte 0"), "\(error)")
        }
    }

    /// Found by DICOMChildProcessTests: GDCM aborts the process (an assertion) on such an element.
    func testAnUndefinedLengthOutsideSequencesAndPixelDataIsRefusedBeforeGDCM() throws {
        let bytes = explicit(0x0008, 0x0060, "CS", Array("CT".utf8))
            + tag(0x0010, 0x0010) + Array("OB".utf8) + [0, 0] + uint32(0xffff_ffff) + tag(0xfffe, 0xe0dd) + uint32(0)
        let path = try write(bytes, as: "undefined-ob.dcm")
        XCTAssertThrowsError(try DICOMFile(path: path, readPixels: false)) { error in
            XCTAssertTrue("\(error)".contains("element (0010,0010) has an undefined length but is not a sequence"), "\(error)")
            XCTAssertTrue("\(error)".contains("at byte 10"), "\(error)")
        }
    }

    /// Found by DICOMChildProcessTests: a damaged VR inside a sequence of defined length reached the bridge's
    /// functional-group lookup through a sequence GDCM parses on demand.
    func testSequencesOfDefinedLengthAreWalkedToo() throws {
        let inner = explicit(0x0028, 0x1053, "Dp", Array("1 ".utf8))
        let item = tag(0xfffe, 0xe000) + uint32(UInt32(inner.count)) + inner
        let bytes = explicit(0x0008, 0x0060, "CS", Array("CT".utf8))
            + tag(0x0028, 0x9145) + Array("SQ".utf8) + [0, 0] + uint32(UInt32(item.count)) + item
        let path = try write(bytes, as: "nested-bad-vr.dcm")
        XCTAssertThrowsError(try DICOMFile.checkStructure(path: path)) { error in
            XCTAssertTrue("\(error)".contains("an element has no valid VR at byte 30"), "\(error)")
        }
        let good = explicit(0x0028, 0x1053, "DS", Array("1 ".utf8))
        let goodItem = tag(0xfffe, 0xe000) + uint32(UInt32(good.count)) + good
        let fine = explicit(0x0008, 0x0060, "CS", Array("CT".utf8))
            + tag(0x0028, 0x9145) + Array("SQ".utf8) + [0, 0] + uint32(UInt32(goodItem.count)) + goodItem
        XCTAssertNoThrow(try DICOMFile.checkStructure(path: write(fine, as: "nested-good.dcm")))
        let short = explicit(0x0008, 0x0060, "CS", Array("CT".utf8))
            + tag(0x0028, 0x9145) + Array("SQ".utf8) + [0, 0] + uint32(UInt32(goodItem.count - 2)) + goodItem
        XCTAssertThrowsError(try DICOMFile.checkStructure(path: write(short, as: "nested-short.dcm"))) { error in
            XCTAssertTrue("\(error)".contains("an item runs past the end of its sequence"), "\(error)")
        }
    }

    func testAMissingFileIsNotFound() {
        let path = folder.appending(path: "absent.dcm").path
        XCTAssertThrowsError(try DICOMFile.checkStructure(path: path)) { XCTAssertEqual(($0 as? FedCTError)?.code, .notFound) }
    }

    /// An implicit-VR little-endian dataset (no preamble) of `depth` undefined-length sequences, each in the one item of
    /// the sequence around it, closed by their delimiters.
    private func nestedSequences(depth: Int) -> [UInt8] {
        let open = tag(0x0008, 0x1140) + uint32(0xffff_ffff) + tag(0xfffe, 0xe000) + uint32(0xffff_ffff)
        let close = tag(0xfffe, 0xe00d) + uint32(0) + tag(0xfffe, 0xe0dd) + uint32(0)
        return tag(0x0008, 0x0060) + uint32(2) + Array("CT".utf8)
            + Array([[UInt8]](repeating: open, count: depth).joined()) + Array([[UInt8]](repeating: close, count: depth).joined())
    }

    /// An explicit-VR little-endian element with a short (16-bit) length.
    private func explicit(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
        tag(group, element) + Array(vr.utf8) + [UInt8(value.count & 0xff), UInt8(value.count >> 8)] + value
    }

    private func tag(_ group: UInt16, _ element: UInt16) -> [UInt8] {
        [UInt8(group & 0xff), UInt8(group >> 8), UInt8(element & 0xff), UInt8(element >> 8)]
    }

    private func uint32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xff) } }

    private func write(_ bytes: [UInt8], as name: String) throws -> String {
        let url = folder.appending(path: name)
        try Data(bytes).write(to: url)
        return url.path
    }
}

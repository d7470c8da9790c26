// Tests of the bad-input matrix: damaged NIfTI files, a manifest row without its image, and a preflight that lists them all.
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class BadInputTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-bad-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil), "missing test fixture Fixtures/\(name)")
    }

    /// A copy of `fixture` at `name` in the test folder with `transform` applied to its bytes.
    private func damaged(_ fixture: String, as name: String, _ transform: (inout Data) -> Void) throws -> String {
        var bytes = try Data(contentsOf: try self.fixture(fixture))
        transform(&bytes)
        let path = folder.appending(path: name).path
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    private func assertRefused(_ path: String, saying words: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ScanImage.read(path: path), file: file, line: line) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidData, "\(error)", file: file, line: line)
            let text = "\(error)"
            XCTAssertTrue(text.contains(path), "the error names the file: \(text)", file: file, line: line)
            for word in words { XCTAssertTrue(text.contains(word), "'\(word)' in: \(text)", file: file, line: line) }
        }
    }

    func testNIfTIWithAWrongMagicIsRefusedNotReadAsANALYZE() throws {
        // niftilib alone reads a 348-byte header without the NIfTI magic as ANALYZE 7.5 and returns a volume.
        let path = try damaged("nifti/dtype_int16.nii", as: "wrong-magic.nii") { $0.replaceSubrange(344..<348, with: Array("xyz\0".utf8)) }
        assertRefused(path, saying: "magic at byte 344", "78 79 7a 00", "'n+1'")
        let nifti2 = try damaged("nifti/dtype_int16.nii", as: "not-nifti.nii") { $0.replaceSubrange(0..<4, with: [0xe7, 0x03, 0, 0]) }
        assertRefused(nifti2, saying: "header size field is 999")
    }

    func testGzipThatEndsEarlyIsRefusedWithWhatIsMissing() throws {
        let inHeader = try damaged("nifti/dtype_int16.nii.gz", as: "cut-in-header.nii.gz") { $0 = $0.prefix(60) }
        assertRefused(inHeader, saying: "inside the NIfTI header", "gzip stream is cut off")
        let inVoxels = try damaged("nifti/dtype_int16.nii.gz", as: "cut-in-voxels.nii.gz") { $0 = $0.prefix($0.count - 30) }
        assertRefused(inVoxels, saying: "ends early", "120 bytes of voxels from byte 352", "gzip stream is cut off")
        let plain = try damaged("nifti/dtype_int16.nii", as: "cut.nii") { $0 = $0.prefix(400) }
        assertRefused(plain, saying: "ends early", "(472 in all), the file holds 400 bytes")
    }

    /// Found by fuzzing (`nifti`): a header declaring gigabytes of voxels made niftilib allocate them before finding the
    /// file short (AddressSanitizer's 8 GB malloc). The declared size is now checked against the file first; the fuzz
    /// corpus keeps the input (Tests/Fuzz/corpus/nifti/oom-8GB-header.nii), which Scripts/fuzz.sh replays under ASan.
    func testAHeaderDeclaringGigabytesIsRefusedNamingWhatTheFileHolds() throws {
        let int16 = { (value: Int16) in withUnsafeBytes(of: value.littleEndian) { Data($0) } }
        let plain = try damaged("nifti/dtype_int16.nii", as: "huge.nii") { bytes in
            bytes.replaceSubrange(42..<48, with: int16(2000) + int16(2000) + int16(1000))
        }
        assertRefused(plain, saying: "ends early", "8000000000 bytes of voxels from byte 352")
        let absurd = try damaged("nifti/dtype_int16.nii", as: "absurd.nii") { bytes in
            bytes.replaceSubrange(40..<56, with: int16(4) + int16(32767) + int16(32767) + int16(32767) + int16(32767) + int16(1) + int16(1) + int16(1))
        }
        assertRefused(absurd, saying: "ends early", "2305561547121623042 bytes of voxels", "copy the file again")
    }

    func testManifestPointingAtAMissingFileNamesTheLineAndThePath() throws {
        let site = folder.appending(path: "site")
        try FileManager.default.createDirectory(at: site.appending(path: "scans"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try fixture("nifti/dtype_int16.nii"), to: site.appending(path: "scans/here.nii"))
        try "scan_id,subject_id,image_path,index_time,split\nc1,s1,scans/here.nii,2020-01-01,train\nc2,s2,scans/gone.nii.gz,2020-01-01,train\n"
            .write(to: site.appending(path: "cohort.csv"), atomically: true, encoding: .utf8)
        try "subject_id,time,code,numeric_value\ns1,2021-01-01,VISIT/OUTPATIENT,\ns2,2021-01-01,VISIT/OUTPATIENT,\n"
            .write(to: site.appending(path: "events.csv"), atomically: true, encoding: .utf8)
        let labeler = TTELabeler(taskCodes: ["DEATH"], pieceEdgesDays: [365])
        XCTAssertThrowsError(try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: Preprocessing(size: 4))) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .notFound)
            let text = "\(error)"
            XCTAssertTrue(text.contains(site.appending(path: "cohort.csv").path + ":3") && text.contains("scans/gone.nii.gz"), text)
        }
    }

    /// Writes a CT series of 8×6 slices at `z` positions (mm) into `name`; returns the folder.
    private func writeSeries(_ name: String, z: [Double], modality: String = "CT") throws -> URL {
        let target = folder.appending(path: name)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let study = try DICOMSlice.generateUID(), series = try DICOMSlice.generateUID()
        for (n, position) in z.enumerated() {
            var slice = DICOMSlice(rows: 6, columns: 8, stored: [Int16](repeating: 1000, count: 48), pixelSpacing: (0.5, 0.5),
                                   sliceThickness: 2, position: SIMD3(0, 0, position), instanceNumber: n + 1,
                                   studyInstanceUID: study, seriesInstanceUID: series)
            slice.modality = modality
            try slice.write(to: target.appending(path: "slice-\(n).dcm").path)
        }
        return target
    }

    func testPreflightListsEveryBadInputOfOneDataFolder() throws {
        try SyntheticConsortium(patientsPerSite: [12], volumeSize: 16, seed: 5).write(to: folder)
        let site = folder.appending(path: "site-1")
        let manifest = site.appending(path: "cohort.csv"), events = site.appending(path: "events.csv")
        let images: [(line: Int, path: String, words: [String])] = [
            (2, try damaged("nifti/dtype_int16.nii", as: "wrong-magic.nii") { $0.replaceSubrange(344..<348, with: [0, 0, 0, 0]) },
             ["magic at byte 344"]),
            (3, try damaged("nifti/dtype_int16.nii.gz", as: "cut.nii.gz") { $0 = $0.prefix($0.count - 30) }, ["ends early"]),
            (4, try damaged("dicom/CT_small.dcm", as: "truncated.dcm") { $0 = $0.prefix(200) }, ["truncated"]),
            (5, try fixture("dicom/MR_small.dcm").path, ["'MR', not CT"]),
            (6, try writeSeries("missing-slice", z: [0, 2, 4, 8, 10]).path, ["missing"]),
            (7, try writeSeries("uneven", z: [0, 2, 4, 6.5, 8.5]).path, ["inconsistent slice spacing"]),
            (8, site.appending(path: "scans/not-there.nii.gz").path, ["no such file"]),
        ]
        var rows = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").map(String.init)
        for image in images {
            var fields = rows[image.line - 1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[2] = image.path
            rows[image.line - 1] = fields.joined(separator: ",")
        }
        try (rows.joined(separator: "\n") + "\n").write(to: manifest, atomically: true, encoding: .utf8)
        var table = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map(String.init)
        table.append("s1-00009,2020-14-01,LAB/X,1")
        try (table.joined(separator: "\n") + "\n").write(to: events, atomically: true, encoding: .utf8)

        let report = DataPreflight(directory: site.path).run()
        XCTAssertTrue(report.isBlocking)
        for image in images {
            let problem = report.problems.first { $0.file == manifest.path && $0.line == image.line }
            XCTAssertEqual(problem?.severity, .blocking, "line \(image.line): \(report.text)")
            let message = problem?.message ?? ""
            XCTAssertTrue(message.contains(image.path), "line \(image.line) names its image: \(message)")
            for word in image.words { XCTAssertTrue(message.contains(word), "line \(image.line): '\(word)' in \(message)") }
            XCTAssertTrue(report.text.contains("\(manifest.path):\(image.line): "), report.text)
        }
        let badTime = report.problems.first { $0.file == events.path && $0.line == table.count }
        XCTAssertEqual(badTime?.severity, .blocking, report.text)
        XCTAssertTrue(badTime?.message.contains("2020-14-01") ?? false, report.text)
        XCTAssertEqual(report.problems.filter { $0.severity == .blocking }.count, images.count + 1, report.text)
        XCTAssertEqual(report.usableTrainScans + report.usableHeldoutScans, 12 - images.count, report.text)
    }
}

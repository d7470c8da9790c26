// Tests of NIfTI volumes through niftilib and of the synthetic generator (determinism, loadable site folders).
@testable import FedCTData
import FedCTCore
import XCTest

final class VolumeAndSyntheticTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testNIfTIRoundTripKeepsValuesAndSpacing() throws {
        let voxels = (0..<(4 * 3 * 2)).map { Float($0 * 10 - 100) }
        let volume = Volume(width: 4, height: 3, depth: 2, spacing: (0.5, 0.75, 2.5), voxels: voxels)
        for name in ["v.nii", "v.nii.gz"] {
            let path = folder.appending(path: name).path
            try volume.writeNIfTI(path: path)
            XCTAssertEqual(try Volume.readNIfTI(path: path), volume, name)
        }
    }

    func testBadNIfTIFilesNameTheFile() throws {
        let missing = folder.appending(path: "missing.nii").path
        XCTAssertThrowsError(try Volume.readNIfTI(path: missing)) { XCTAssertTrue("\($0)".contains("missing.nii")) }
        let garbage = folder.appending(path: "garbage.nii").path
        try Data(repeating: 7, count: 400).write(to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try Volume.readNIfTI(path: garbage)) { XCTAssertTrue("\($0)".contains("garbage.nii"), "\($0)") }
    }

    func testPreprocessingWindowsAndCentres() {
        let volume = Volume(width: 2, height: 2, depth: 2, spacing: (1, 1, 1), voxels: [-2000, -1000, 0, 1000, 3000, 0, 0, 0])
        let cube = Preprocessing(size: 4).apply(volume)
        XCTAssertEqual(cube.count, 64)
        // The 2³ input sits at offset 1 in the 4³ output; everything else is air (−1).
        XCTAssertEqual(cube[(1 * 4 + 1) * 4 + 1], -1)   // −2000 clamps to −1000 → −1
        XCTAssertEqual(cube[(1 * 4 + 1) * 4 + 2], -1)
        XCTAssertEqual(cube[(1 * 4 + 2) * 4 + 1], 0)    // 0 HU → 0
        XCTAssertEqual(cube[(1 * 4 + 2) * 4 + 2], 1)    // 1000 HU → 1
        XCTAssertEqual(cube[(2 * 4 + 1) * 4 + 1], 1)    // 3000 clamps → 1
        XCTAssertEqual(cube[0], -1)
    }

    func testSyntheticConsortiumIsDeterministicAndLoads() throws {
        let first = folder.appending(path: "a"), second = folder.appending(path: "b")
        try SyntheticConsortium(patientsPerSite: [12, 8], volumeSize: 16, seed: 3).write(to: first)
        try SyntheticConsortium(patientsPerSite: [12, 8], volumeSize: 16, seed: 3).write(to: second)
        for file in ["ground_truth.csv", "site-1/events.csv", "site-2/cohort.csv", "site-1/scans/s1-00003.nii.gz"] {
            XCTAssertEqual(FileManager.default.contents(atPath: first.appending(path: file).path),
                           FileManager.default.contents(atPath: second.appending(path: file).path), file)
        }
        let labeler = TTELabeler(taskCodes: SyntheticConsortium.outcomeCodes, pieceEdgesDays: [90, 365, 1825])
        let site = try SiteDataset.load(directory: first.appending(path: "site-1").path, labeler: labeler, preprocessing: Preprocessing(size: 16))
        XCTAssertEqual(site.train.count + site.heldout.count + site.skippedWithoutFollowUp.count, 12)
        XCTAssertEqual(site.heldout.count, 3)
        let example = try XCTUnwrap(site.train.first)
        XCTAssertEqual(example.input.count, 16 * 16 * 16)
        XCTAssertEqual(example.timeAtRisk.count, 3 * 3)
        XCTAssertTrue(example.input.contains { $0 > 0.3 }, "the spine is bright")
        XCTAssertTrue(example.input.contains { $0 < -0.7 }, "the lungs are dark")
    }

    func testMissingDataFolderAndScanAreClearErrors() throws {
        XCTAssertThrowsError(try SiteDataset.checkFolder(folder.appending(path: "nope").path)) { error in
            XCTAssertTrue("\(error)".contains("nope") && "\(error)".contains("data.dir"), "\(error)")
        }
        let site = folder.appending(path: "site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try "scan_id,subject_id,image_path,index_time,split\nc1,s1,scans/gone.nii.gz,2020-01-01,train\n"
            .write(to: site.appending(path: "cohort.csv"), atomically: true, encoding: .utf8)
        try "subject_id,time,code,numeric_value\ns1,2021-01-01,VISIT/OUTPATIENT,\n"
            .write(to: site.appending(path: "events.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SiteDataset.load(directory: site.path, labeler: TTELabeler(taskCodes: ["DEATH"], pieceEdgesDays: [365]), preprocessing: Preprocessing(size: 8))) { error in
            XCTAssertTrue("\(error)".contains("cohort.csv") && "\(error)".contains("gone.nii.gz"), "\(error)")
        }
    }
}

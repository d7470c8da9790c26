// Tests of the cohort manifest's optional columns (study, report, clinical row) and of the checks on the files they name.
@testable import FedCTData
import FedCTCore
import XCTest

final class SyntheticManifestTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func write(_ text: String, to name: String) throws {
        try text.write(to: folder.appending(path: name), atomically: true, encoding: .utf8)
    }

    func testOptionalColumnsAreParsedAndAbsentOnesAreNil() throws {
        try write("scan_id,subject_id,image_path,index_time,split\nc1,s1,a.nii.gz,2020-01-01,train\n", to: "plain.csv")
        let plain = try XCTUnwrap(try CohortManifest(path: folder.appending(path: "plain.csv").path).entries.first)
        XCTAssertNil(plain.studyID)
        XCTAssertNil(plain.reportPath)
        XCTAssertNil(plain.clinicalRow)

        try write("""
            clinical_row,scan_id,report_path,subject_id,image_path,index_time,split,study_id
            c1,c1,reports/c1.txt,s1,a.nii.gz,2020-01-01,train,st1
            ,c2,/abs/r2.txt,s2,b.nii.gz,2020-01-02,heldout,

            """, to: "full.csv")
        let manifest = try CohortManifest(path: folder.appending(path: "full.csv").path)
        let first = manifest.entries[0], second = manifest.entries[1]
        XCTAssertEqual(first.studyID, "st1")
        XCTAssertEqual(first.reportPath, folder.appending(path: "reports/c1.txt").path)
        XCTAssertEqual(first.clinicalRow, "c1")
        XCTAssertEqual(first.imagePath, folder.appending(path: "a.nii.gz").path)
        XCTAssertNil(second.studyID)
        XCTAssertEqual(second.reportPath, "/abs/r2.txt")
        XCTAssertNil(second.clinicalRow)
    }

    func testAMissingReportIsNamedWithItsManifestLine() throws {
        try write("scan_id,subject_id,image_path,index_time,split,report_path\nc1,s1,a.nii.gz,2020-01-01,train,reports/gone.txt\n", to: "cohort.csv")
        let manifest = try CohortManifest(path: folder.appending(path: "cohort.csv").path)
        XCTAssertThrowsError(try manifest.reportText(manifest.entries[0])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("cohort.csv:2") && text.contains("reports/gone.txt") && text.contains("c1"), text)
        }
    }

    func testPreflightWarnsAboutMissingReportsAndClinicalRowsOfASyntheticSite() throws {
        try SyntheticConsortium(patientsPerSite: [8], volumeSize: 16, seed: 6).write(to: folder)
        let site = folder.appending(path: "site-1")
        try FileManager.default.removeItem(at: site.appending(path: "reports/s1-00002-ct.txt"))
        let clinical = try String(contentsOf: site.appending(path: "clinical.csv"), encoding: .utf8)
        try clinical.split(separator: "\n").filter { !$0.hasPrefix("s1-00004-ct,") }.joined(separator: "\n")
            .write(to: site.appending(path: "clinical.csv"), atomically: true, encoding: .utf8)

        let report = DataPreflight(directory: site.path).run()
        let manifest = site.appending(path: SiteDataset.manifestName).path
        XCTAssertFalse(report.isBlocking, report.text)
        XCTAssertEqual(report.problems.count, 2, report.text)
        XCTAssertTrue(report.problems.contains { $0.file == manifest && $0.line == 4 && $0.severity == .warning && $0.message.contains("s1-00002-ct.txt") }, report.text)
        XCTAssertTrue(report.problems.contains { $0.file == manifest && $0.line == 6 && $0.message.contains("clinical_row 's1-00004-ct'") }, report.text)

        try FileManager.default.removeItem(at: site.appending(path: "clinical.csv"))
        let withoutTable = DataPreflight(directory: site.path).run()
        XCTAssertTrue(withoutTable.problems.contains { $0.file.hasSuffix("clinical.csv") && $0.message.contains("8 manifest rows") }, withoutTable.text)
    }
}

// Tests of the data preflight: a clean synthetic site passes with its counts; many injected problems are all listed.
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class DataPreflightTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-preflight-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SyntheticConsortium(patientsPerSite: [12], volumeSize: 16, seed: 5).write(to: folder)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private var site: URL { folder.appending(path: "site-1") }

    private func lines(_ name: String) throws -> [String] {
        try String(contentsOf: site.appending(path: name), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    private func write(_ lines: [String], to name: String) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: site.appending(path: name), atomically: true, encoding: .utf8)
    }

    func testSyntheticSitePassesWithTheLoadersCounts() throws {
        let report = DataPreflight(directory: site.path).run()
        XCTAssertFalse(report.isBlocking, report.text)
        XCTAssertEqual(report.problems.filter { $0.severity == .blocking }, [])
        XCTAssertEqual(report.scans, 12)
        XCTAssertEqual(report.subjects, 12)
        XCTAssertEqual(report.trainScans, 9)
        XCTAssertEqual(report.heldoutScans, 3)
        XCTAssertEqual(report.eventRows, try lines("events.csv").count - 1)
        XCTAssertEqual(report.eventSubjects, 12)
        // Training would use exactly the scans the preflight calls usable.
        let labeler = TTELabeler(taskCodes: SyntheticConsortium.outcomeCodes, pieceEdgesDays: [365])
        let dataset = try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: Preprocessing(size: 16))
        XCTAssertEqual(report.usableTrainScans, dataset.train.count)
        XCTAssertEqual(report.usableHeldoutScans, dataset.heldout.count)
        XCTAssertEqual(report.sliceThickness?.median, 1.25)
        XCTAssertEqual(report.pixelSpacing?.maximum, 0.75)
        XCTAssertEqual(report.sliceThickness?.count, 12)
        let meanHU = try XCTUnwrap(report.scanMeanHU)
        XCTAssertTrue(meanHU.maximum < 0 && (report.scanMinimumHU?.minimum ?? 0) < -900, report.text)
        XCTAssertTrue(report.text.hasSuffix("result: ready"), report.text)
    }

    func testInjectedProblemsAreAllListedWithFileAndLine() throws {
        let manifest = site.appending(path: "cohort.csv").path, events = site.appending(path: "events.csv").path
        var cohort = try lines("cohort.csv")
        // Line 2: a missing image. Line 3: a truncated NIfTI. Line 14: a copy of line 4. Line 15: a subject without events.
        cohort[1] = cohort[1].replacingOccurrences(of: "scans/s1-00000.nii.gz", with: "scans/gone.nii.gz")
        let truncated = site.appending(path: "scans/s1-00001.nii.gz")
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        cohort.append(cohort[3])
        cohort.append("ghost-ct,ghost,scans/s1-00002.nii.gz,2020-01-01,train,,,")
        try write(cohort, to: "cohort.csv")
        var table = try lines("events.csv")
        table.append("s1-00003,2020-02-30T10:00:00,LAB/X,1")
        table.append("s1-00003,2020-03-01,LAB/X")
        try write(table, to: "events.csv")
        let badTimeLine = table.count - 1, raggedLine = table.count

        let report = DataPreflight(directory: site.path).run()
        XCTAssertTrue(report.isBlocking)
        func problem(_ file: String, _ line: Int, _ words: String...) -> PreflightProblem? {
            report.problems.first { $0.file == file && $0.line == line && words.allSatisfy($0.message.contains) }
        }
        let missing = try XCTUnwrap(problem(manifest, 2, "gone.nii.gz", "s1-00000-ct"), report.text)
        XCTAssertEqual(missing.severity, .blocking)
        XCTAssertEqual(try XCTUnwrap(problem(manifest, 3, "s1-00001.nii.gz"), report.text).severity, .blocking)
        XCTAssertEqual(try XCTUnwrap(problem(manifest, 14, "duplicates line 4"), report.text).severity, .blocking)
        XCTAssertEqual(try XCTUnwrap(problem(manifest, 15, "ghost", "no dated event"), report.text).severity, .warning)
        XCTAssertEqual(try XCTUnwrap(problem(events, badTimeLine, "2020-02-30T10:00:00"), report.text).severity, .blocking)
        XCTAssertEqual(try XCTUnwrap(problem(events, raggedLine, "3 fields, the header has 4"), report.text).severity, .blocking)
        // The duplicate row is not counted as a scan; the ghost subject's scan is.
        XCTAssertEqual(report.scans, 13)
        XCTAssertEqual(report.usableTrainScans + report.usableHeldoutScans, 10)
        XCTAssertEqual(report.problems.filter { $0.severity == .blocking }.count, 5, report.text)

        for expected in ["\(manifest):2: ", "\(manifest):3: ", "\(manifest):14: ", "\(manifest):15: ", "\(events):\(badTimeLine): "] {
            XCTAssertTrue(report.text.contains(expected), expected)
        }
        XCTAssertTrue(report.text.hasSuffix("fix the blocking problems and run the check again"))
        let json = try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any]
        XCTAssertEqual(json?["blocking"] as? Bool, true)
        XCTAssertEqual((json?["problems"] as? [[String: Any]])?.count, report.problems.count)
        XCTAssertEqual(json?["scans"] as? Int, 13)
    }

    func testNoTrainingScanBlocksAndUnreadableTablesAreReported() throws {
        let cohort = try lines("cohort.csv").map { $0.replacingOccurrences(of: ",train", with: ",heldout") }
        try write(cohort, to: "cohort.csv")
        var report = DataPreflight(directory: site.path).run()
        XCTAssertTrue(report.isBlocking)
        XCTAssertEqual(report.problems.filter { $0.severity == .blocking }.map(\.line), [nil], report.text)
        XCTAssertTrue(report.problems.contains { $0.message.hasPrefix("no training scan is usable") }, report.text)

        try write(["subject_id,when,code"], to: "events.csv")
        report = DataPreflight(directory: site.path).run()
        let events = site.appending(path: "events.csv").path
        XCTAssertEqual(report.problems.filter { $0.severity == .blocking }.map(\.description),
                       ["\(events): no column 'time' (columns: subject_id, when, code)"])

        report = DataPreflight(directory: folder.appending(path: "nowhere").path).run()
        XCTAssertTrue(report.isBlocking)
        XCTAssertTrue(report.problems.first?.message.contains("data.dir") ?? false, report.text)
    }

    func testCyclicOntologyBlocksAndNamesTheFile() throws {
        try write(["code,parent", "ICD10/A10.1,ICD10/A10", "ICD10/A10,ICD10/A10.1"], to: TaskOntology.fileName)
        let report = DataPreflight(directory: site.path).run()
        XCTAssertTrue(report.isBlocking, report.text)
        XCTAssertTrue(report.text.contains("ontology.csv"), report.text)
        XCTAssertTrue(report.text.contains("cycle"), report.text)
    }
}

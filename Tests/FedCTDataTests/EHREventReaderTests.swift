// Tests of the streaming EHR input: CSV bytes at chunk edges, interning, MEDS against a plain re-parse, OMOP mapping, preflight of bad OMOP rows.
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class EHREventReaderTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-ehr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = folder.appending(path: name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Every record of `path` as (line, fields), read with `chunkSize`-byte chunks.
    private func records(_ path: String, chunkSize: Int) throws -> [[String]] {
        var scanner = try CSVByteScanner(path: path, chunkSize: chunkSize)
        var records: [[String]] = []
        while try scanner.nextRecord() { records.append(["\(scanner.recordLine)"] + scanner.strings) }
        return records
    }

    func testCSVEdgeCasesGiveTheSameRecordsAtEveryChunkSize() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\nlines\",\n3,,\"\"\n4,last,no newline"
        let path = try write(Array(text.utf8), "edge.csv")
        let expected = [["1", "a", "b", "c"], ["2", "1", "x, y", "say \"hi\""], ["4", "2", "two\nlines", ""], ["6", "3", "", ""],
                        ["7", "4", "last", "no newline"]]
        for chunkSize in [3, 4, 5, 7, 64, 4 << 20] {
            XCTAssertEqual(try records(path, chunkSize: chunkSize), expected, "chunk size \(chunkSize)")
        }
        let unclosed = try write(Array("a,b\n1,\"open\n2,3\n".utf8), "unclosed.csv")
        XCTAssertThrowsError(try records(unclosed, chunkSize: 3)) {
            XCTAssertEqual(($0 as? FedCTError)?.message, "\(unclosed):2: a quoted field is never closed")
        }
    }

    func testInternTableKeepsEachStringOnceAcrossGrowth() {
        var table = InternTable()
        let ids = (0..<5000).map { table.id(of: "code-\($0 % 1000)") }
        XCTAssertEqual(table.count, 1000)
        XCTAssertEqual(ids[0..<1000].map(Int.init), Array(0..<1000))
        XCTAssertEqual(ids[4000..<5000].map(Int.init), Array(0..<1000))
        XCTAssertEqual(table.string(999), "code-999")
        XCTAssertEqual(table.existingID(of: "code-7"), 7)
        XCTAssertNil(table.existingID(of: "code-1000"))
        XCTAssertEqual(table.id(of: ""), 1000)
        XCTAssertEqual(table.existingID(of: ""), 1000)
    }

    func testMEDSShortRowAndBadTimeNameTheirLinesStrictlyAndAllWhenListing() throws {
        let path = try write(Array("subject_id,time,code,numeric_value\r\ns1,2020-01-01,A,1\r\ns1,2020-01-02,B\r\ns2,01/02/2020,C,\r\n,2020-01-01,D,\r\ns1,2020-01-01,A,1".utf8),
                             "events.csv")
        var strict = EHREventReader(source: .meds(path: path))
        XCTAssertThrowsError(try strict.forEachEvent { _, _ in }) {
            XCTAssertEqual(($0 as? FedCTError)?.message, "\(path):3: 3 fields, the header has 4")
        }
        var lenient = EHREventReader(source: .meds(path: path))
        lenient.detectsDuplicateRows = true
        lenient.parsesNumericValues = true
        var problems: [String] = [], events: [EHREvent] = []
        try lenient.forEachEvent(problems: { problems.append("\($0.line ?? 0): \($0.message)") }) { event, _ in events.append(event) }
        XCTAssertEqual(problems, ["3: 3 fields, the header has 4", "4: time '01/02/2020' is not an ISO 8601 date or date-time",
                                  "5: empty subject_id", "6: duplicates line 2"])
        XCTAssertEqual(events.map(\.line), [2, 6])
        XCTAssertEqual(events.map(\.numericValue), [1, 1])
        XCTAssertEqual(lenient.vocabulary.subjects.strings, ["s1"], "rows with errors intern nothing")
    }

    func testStreamingTimelinesEqualAPlainReparseOfTheSyntheticEvents() throws {
        try SyntheticConsortium(patientsPerSite: [25], volumeSize: 16, seed: 11).write(to: folder)
        let path = folder.appending(path: "site-1/events.csv").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(text.contains("\""), "the plain re-parse below assumes no quoted fields")
        var recordEnd: [String: Double] = [:], first: [String: [String: [Double]]] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard let day = EventTime.days(fields[1]) else { continue }
            recordEnd[fields[0]] = max(recordEnd[fields[0]] ?? day, day)
            if SyntheticConsortium.outcomeCodes.contains(fields[2]) { first[fields[0], default: [:]][fields[2], default: []].append(day) }
        }
        let timelines = try SubjectTimelines(medsCSV: path, trackedCodes: Set(SyntheticConsortium.outcomeCodes))
        XCTAssertEqual(timelines.recordEnd, recordEnd)
        XCTAssertEqual(timelines.occurrences, first)
        XCTAssertEqual(recordEnd.count, 25)
    }

    /// The committed OMOP fixture copied into a data folder (see Fixtures/omop/NOTICE.md).
    private func omopFolder() throws -> String {
        let fixture = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/omop", withExtension: nil), "missing Fixtures/omop")
        let omop = folder.appending(path: "data/omop")
        try FileManager.default.createDirectory(at: omop.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixture, to: omop)
        try? FileManager.default.removeItem(at: omop.appending(path: "NOTICE.md"))
        return omop.path
    }

    func testOMOPTablesMapToTheDocumentedEvents() throws {
        let omop = try omopFolder()
        XCTAssertEqual(try EHRSource.find(in: URL(fileURLWithPath: omop).deletingLastPathComponent().path), .omop(folder: omop))
        var reader = EHREventReader(source: .omop(folder: omop))
        reader.parsesNumericValues = true
        var events: [String] = []
        let files = reader.files
        try reader.forEachEvent { event, vocabulary in
            let file = URL(fileURLWithPath: files[event.file]).lastPathComponent
            let time = event.day.map { EventTime.iso8601(days: $0) } ?? "static"
            events.append("\(file):\(event.line) \(vocabulary.subjects.string(event.subject)) \(time) \(vocabulary.codes.string(event.code))"
                + (event.numericValue.map { " \($0)" } ?? ""))
        }
        XCTAssertEqual(events, [
            "person.csv:2 101 1950-03-14T00:00:00 MEDS_BIRTH", "person.csv:2 101 static GENDER/8507",
            "person.csv:3 102 1962-01-01T00:00:00 MEDS_BIRTH", "person.csv:3 102 static GENDER/8532",
            "person.csv:4 103 1948-07-01T06:30:00 MEDS_BIRTH", "person.csv:4 103 static GENDER/8532",
            "death.csv:2 103 2021-05-02T00:00:00 DEATH",
            "visit_occurrence.csv:2 101 2019-01-10T00:00:00 VISIT/9202",
            "visit_occurrence.csv:3 102 2020-02-01T08:00:00 VISIT/9201",
            "condition_occurrence.csv:2 101 2019-06-01T00:00:00 CONDITION/440417",
            "condition_occurrence.csv:3 102 2020-02-02T00:00:00 CONDITION/4322024",
            "procedure_occurrence.csv:2 101 2019-01-10T00:00:00 PROCEDURE/4306780",
            "drug_exposure.csv:2 102 2020-02-03T00:00:00 DRUG/1310149",
            "measurement.csv:2 101 2019-01-10T09:15:00 MEASUREMENT/3013682 5.4",
            "measurement.csv:3 102 2020-02-01T00:00:00 MEASUREMENT/3013682",
            "observation.csv:2 103 2020-12-01T00:00:00 OBSERVATION/4275495 20.0",
        ])
        let timelines = try SubjectTimelines(source: .omop(folder: omop), trackedCodes: ["DEATH", "CONDITION/440417"])
        let followUp = try XCTUnwrap(timelines.followUp(subject: "103", indexDay: EventTime.days("2021-01-01")!))
        XCTAssertEqual(followUp.firstEventDays, ["DEATH": 121])
        XCTAssertEqual(timelines.followUp(subject: "101", indexDay: EventTime.days("2019-01-01")!)?.firstEventDays["CONDITION/440417"], 151)
    }

    func testSiteDatasetTrainsFromAnOMOPFolder() throws {
        let omop = try omopFolder()
        let data = URL(fileURLWithPath: omop).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: data.appending(path: "scans"), withIntermediateDirectories: true)
        let volume = Volume(width: 8, height: 8, depth: 8, spacing: (1, 1, 1), voxels: (0..<512).map { Float($0 % 64) * 10 - 300 })
        for subject in ["101", "102", "103"] { try volume.writeNIfTI(path: data.appending(path: "scans/\(subject).nii.gz").path) }
        // 102's record ends 2020-02-03, before its scan: skipped for lack of follow-up.
        try Data("""
            scan_id,subject_id,image_path,index_time,split
            ct-101,101,scans/101.nii.gz,2019-01-01,train
            ct-102,102,scans/102.nii.gz,2020-03-01,train
            ct-103,103,scans/103.nii.gz,2021-01-01,heldout

            """.utf8).write(to: data.appending(path: SiteDataset.manifestName))
        let labeler = TTELabeler(taskCodes: ["DEATH", "CONDITION/440417"], pieceEdgesDays: [100, 400])
        let dataset = try SiteDataset.load(directory: data.path, labeler: labeler, preprocessing: Preprocessing(size: 8))
        XCTAssertEqual(dataset.train.map(\.scanID), ["ct-101"])
        XCTAssertEqual(dataset.heldout.map(\.scanID), ["ct-103"])
        XCTAssertEqual(dataset.skippedWithoutFollowUp, ["ct-102"])
        let train = dataset.train[0], heldout = dataset.heldout[0]
        XCTAssertEqual(train.outcome(task: "CONDITION/440417").days, 151)
        XCTAssertTrue(train.outcome(task: "CONDITION/440417").event)
        XCTAssertFalse(train.outcome(task: "DEATH").event)
        XCTAssertEqual(heldout.outcome(task: "DEATH").days, 121)
        XCTAssertTrue(heldout.outcome(task: "DEATH").event)
        // DEATH at day 121 falls in the second piece [100, 400): targets laid out [piece][task].
        XCTAssertEqual(heldout.events, [0, 0, 1, 0])
        XCTAssertEqual(train.input.count, 512)
    }

    func testEventSourceNamesBothFormsWhenNeitherOrBothArePresent() throws {
        let data = folder.appending(path: "data").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        XCTAssertThrowsError(try EHRSource.find(in: data)) {
            let message = ($0 as? FedCTError)?.message ?? ""
            XCTAssertTrue(message.contains("events.csv") && message.contains("omop/"), message)
        }
        try FileManager.default.createDirectory(atPath: "\(data)/omop", withIntermediateDirectories: true)
        XCTAssertThrowsError(try EHRSource.find(in: data)) { XCTAssertTrue("\($0)".contains("no person.csv"), "\($0)") }
        _ = try write(Array("subject_id,time,code\n".utf8), "data/events.csv")
        XCTAssertThrowsError(try EHRSource.find(in: data)) { XCTAssertTrue("\($0)".contains("has both"), "\($0)") }
    }

    func testPreflightListsEveryBadOMOPRow() throws {
        try SyntheticConsortium(patientsPerSite: [6], volumeSize: 16, seed: 3).write(to: folder)
        let site = folder.appending(path: "site-1")
        try FileManager.default.removeItem(at: site.appending(path: "events.csv"))
        let omop = site.appending(path: "omop").path
        try FileManager.default.createDirectory(atPath: omop, withIntermediateDirectories: true)
        let subjects = try String(contentsOf: site.appending(path: "cohort.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[1]) }
        var person = ["person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,birth_datetime"]
        person += subjects.map { "\($0),8507,1950,,," }
        person.append("bad-year,8507,19x0,,,")
        person.append(",8507,1950,,,")
        var visits = ["person_id,visit_concept_id,visit_start_date"]
        visits += subjects.map { "\($0),9202,2030-01-01" }
        visits.append("\(subjects[0]),9202,2030-02-30")
        visits.append("\(subjects[0]),,2030-01-01")
        visits.append("\(subjects[0]),9202")
        visits.append(visits[1])
        let measurement = ["person_id,measurement_concept_id,measurement_date"]
        for (name, lines) in [("person", person), ("visit_occurrence", visits), ("measurement", measurement)] {
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(omop)/\(name).csv", atomically: true, encoding: .utf8)
        }
        let report = DataPreflight(directory: site.path).run()
        let listed = report.problems.filter { $0.file.hasPrefix(omop) }.map { "\(URL(fileURLWithPath: $0.file).lastPathComponent):\($0.line ?? 0) \($0.severity)" }
        let personLine = subjects.count + 2, visitLine = subjects.count + 2
        XCTAssertEqual(listed, [
            "measurement.csv:0 blocking",
            "person.csv:\(personLine) blocking", "person.csv:\(personLine + 1) blocking",
            "visit_occurrence.csv:\(visitLine) blocking", "visit_occurrence.csv:\(visitLine + 1) blocking",
            "visit_occurrence.csv:\(visitLine + 2) blocking", "visit_occurrence.csv:\(visitLine + 3) warning",
        ], report.text)
        XCTAssertTrue(report.text.contains("person.csv:\(personLine): year_of_birth '19x0' is not a whole number"), report.text)
        XCTAssertTrue(report.text.contains("visit_occurrence.csv:\(visitLine): visit_start_date '2030-02-30' is not an ISO 8601"), report.text)
        XCTAssertTrue(report.text.contains("visit_occurrence.csv:\(visitLine + 1): empty visit_concept_id"), report.text)
        XCTAssertTrue(report.text.contains("measurement.csv: no column 'value_as_number'"), report.text)
        XCTAssertEqual(report.eventSubjects, subjects.count)
    }
}

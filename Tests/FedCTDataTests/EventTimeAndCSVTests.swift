// Tests of timestamp parsing and CSV reading, including the errors that point at a file and line.
@testable import FedCTData
import FedCTCore
import XCTest

final class EventTimeAndCSVTests: XCTestCase {
    func testParsesDatesAndDateTimes() {
        XCTAssertEqual(EventTime.days("1970-01-01"), 0)
        XCTAssertEqual(EventTime.days("2000-03-01"), 11_017)
        XCTAssertEqual(EventTime.days("1970-01-02T12:00:00")!, 1.5, accuracy: 1e-9)
        XCTAssertEqual(EventTime.days("1970-01-01 06:00")!, 0.25, accuracy: 1e-9)
        XCTAssertEqual(EventTime.days("1970-01-01T00:00:00.5Z")!, 0.5 / 86_400, accuracy: 1e-12)
        for bad in ["2020-02-30", "2020-13-01", "yesterday", "2020-01-01T25:00", "2020-01-01T10:00:00junk", ""] {
            XCTAssertNil(EventTime.days(bad), bad)
        }
        XCTAssertEqual(EventTime.iso8601(days: EventTime.days("2017-06-15T08:30:05")!), "2017-06-15T08:30:05")
        // Within half a second of midnight: the next day at 00:00:00 (it once printed an unreadable 24:00:00).
        let beforeMidnight = EventTime.days("2013-06-07")! + 86_399.7 / 86_400
        XCTAssertEqual(EventTime.iso8601(days: beforeMidnight), "2013-06-08T00:00:00")
        XCTAssertEqual(EventTime.days(EventTime.iso8601(days: beforeMidnight)), EventTime.days("2013-06-08"))
        XCTAssertEqual(EventTime.iso8601(days: EventTime.days("1969-12-31T23:00:00")!), "1969-12-31T23:00:00")
    }

    func testCSVQuotingAndLineNumbers() throws {
        let table = try CSVTable(text: "a,b\n1,\"x, \"\"y\"\"\"\n\n2,z\n", path: "t.csv")
        XCTAssertEqual(table.header, ["a", "b"])
        XCTAssertEqual(table.rows.map(\.fields), [["1", "x, \"y\""], ["2", "z"]])
        XCTAssertEqual(table.rows.map(\.line), [2, 4])
        XCTAssertThrowsError(try CSVTable(text: "a,b\n1,2,3\n", path: "t.csv")) { error in
            XCTAssertTrue("\(error)".contains("t.csv:2"), "\(error)")
        }
        XCTAssertThrowsError(try table.column("c")) { XCTAssertTrue("\($0)".contains("no column 'c'")) }
    }

    func testMEDSRowWithBadTimeNamesFileAndLine() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appending(path: "events.csv").path
        try "subject_id,time,code,numeric_value\ns1,2020-01-01,DEATH,\ns1,01/02/2020,PE,\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SubjectTimelines(medsCSV: path, trackedCodes: ["DEATH"])) { error in
            XCTAssertTrue("\(error)".contains("events.csv:3"), "\(error)")
            XCTAssertTrue("\(error)".contains("01/02/2020"), "\(error)")
        }
    }

    func testFollowUpUsesFirstEventAfterIndex() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appending(path: "events.csv").path
        try """
            subject_id,time,code,numeric_value
            s1,2020-01-01,PE,
            s1,2020-01-11,PE,
            s1,2020-01-21,PE,
            s1,2020-02-10,VISIT/OUTPATIENT,
            s2,2019-01-01,VISIT/OUTPATIENT,
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let timelines = try SubjectTimelines(medsCSV: path, trackedCodes: ["PE"])
        let index = EventTime.days("2020-01-05")!
        let followUp = try XCTUnwrap(timelines.followUp(subject: "s1", indexDay: index))
        XCTAssertEqual(followUp.firstEventDays["PE"], 6)
        XCTAssertEqual(followUp.followUpDays, 36)
        XCTAssertNil(timelines.followUp(subject: "s2", indexDay: index), "s2's record ends before the index time")
    }
}

// Tests of ontology-aware follow-up: a task code counts its descendants' events, from the site's ontology.csv.
import FedCTCore
import FedCTData
import Foundation
import XCTest

final class OntologyLabelsTests: XCTestCase {
    private func folder(events: String, ontology: String?) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        try events.write(to: folder.appending(path: "events.csv"), atomically: true, encoding: .utf8)
        if let ontology { try ontology.write(to: folder.appending(path: TaskOntology.fileName), atomically: true, encoding: .utf8) }
        return folder
    }

    func testTaskCodeCountsDescendantEvents() throws {
        let folder = try folder(events: """
            subject_id,time,code,numeric_value
            s1,2020-01-20,ICD10/J44.1,
            s1,2020-01-10,ICD10/J44.9,
            s1,2020-03-01,VISIT/OUTPATIENT,
            """, ontology: "code,parent\nICD10/J44.1,ICD10/J44\nICD10/J44.9,ICD10/J44\nICD10/J44,ICD10/J\n")
        let ontology = try TaskOntology.load(directory: folder.path)
        let timelines = try SubjectTimelines(source: .meds(path: folder.appending(path: "events.csv").path), trackedCodes: ["ICD10/J44", "ICD10/J", "ICD10/J44.1"],
                                             ontology: ontology)
        let followUp = try XCTUnwrap(timelines.followUp(subject: "s1", indexDay: EventTime.days("2020-01-05")!))
        XCTAssertEqual(followUp.firstEventDays["ICD10/J44"], 5, "the first descendant event (J44.9 on day 5) counts for J44")
        XCTAssertEqual(followUp.firstEventDays["ICD10/J"], 5, "and for the grandparent")
        XCTAssertEqual(followUp.firstEventDays["ICD10/J44.1"], 15, "a leaf counts only its own events")

        let plain = try SubjectTimelines(source: .meds(path: folder.appending(path: "events.csv").path), trackedCodes: ["ICD10/J44"])
        XCTAssertNil(plain.followUp(subject: "s1", indexDay: EventTime.days("2020-01-05")!)?.firstEventDays["ICD10/J44"],
                     "without the ontology the category has no event")
    }

    func testMissingOntologyIsNoneAndBadRowsNameTheLine() throws {
        let none = try folder(events: "subject_id,time,code,numeric_value\n", ontology: nil)
        XCTAssertEqual(try TaskOntology.load(directory: none.path), .none)
        let empty = try folder(events: "subject_id,time,code,numeric_value\n", ontology: "code,parent\nA,B\nC,\n")
        XCTAssertThrowsError(try TaskOntology.load(directory: empty.path)) { XCTAssertTrue("\($0)".contains("ontology.csv:3"), "\($0)") }
        let cycle = try folder(events: "subject_id,time,code,numeric_value\n", ontology: "code,parent\nA,B\nB,A\n")
        XCTAssertThrowsError(try TaskOntology.load(directory: cycle.path)) { XCTAssertTrue("\($0)".contains("cycle"), "\($0)") }
        let noColumn = try folder(events: "subject_id,time,code,numeric_value\n", ontology: "child,parent\nA,B\n")
        XCTAssertThrowsError(try TaskOntology.load(directory: noColumn.path)) { XCTAssertTrue("\($0)".contains("no column 'code'"), "\($0)") }
    }

    func testSetupFollowUpsUseOnlyTrainScansAndCountOntologyAncestors() throws {
        let root = FileManager.default.temporaryDirectory.appending(path: UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticConsortium(patientsPerSite: [30], volumeSize: 16, seed: 3).write(to: root)
        let site = root.appending(path: "site-1").path
        let manifest = try CohortManifest(path: "\(site)/cohort.csv")
        let inputs = try SiteDataset.setupFollowUps(directory: site)
        XCTAssertEqual(inputs.followUps.count + inputs.skipped, manifest.entries.filter { $0.split == .train }.count)
        let ontology = try TaskOntology.load(directory: site)
        // Every occurrence of a coded diagnosis is also an occurrence of each of its ancestors, never later.
        for followUp in inputs.followUps {
            for (code, day) in followUp.firstEventDays {
                for ancestor in ontology.expand(code) {
                    XCTAssertLessThanOrEqual(try XCTUnwrap(followUp.firstEventDays[ancestor]), day)
                }
            }
        }
        XCTAssertFalse(ontology.ancestors.isEmpty, "the synthetic site ships an ontology")

        // The streamed accumulator equals the plain computation: every event kept in CodeTimelines, follow-ups after.
        var everything = CodeTimelines()
        var reader = EHREventReader(source: try EHRSource.find(in: site))
        try reader.forEachEvent { event, vocabulary in
            everything.add(subject: vocabulary.subjects.string(event.subject), day: event.day, code: vocabulary.codes.string(event.code))
        }
        let train = manifest.entries.filter { $0.split == .train }.map { (subject: $0.subjectID, indexDay: $0.indexDay) }
        let plain = everything.followUps(scans: train, ontology: ontology)
        XCTAssertEqual(inputs.followUps, plain.followUps)
        XCTAssertEqual(inputs.skipped, plain.skipped)
    }
}

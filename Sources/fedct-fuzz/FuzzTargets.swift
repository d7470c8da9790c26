// FuzzTargets: the decoders that take outside bytes, each a function of one input as libFuzzer (or a replay) feeds it.
import Crypto
import FedCTAdmin
import FedCTCore
import FedCTData
import FedCTIdentity
import FedCTProto
import FedCTSite
import FedCTStorage
import FedCTTraining
import Foundation
import SwiftProtobuf

/// One fuzz target: a name (the corpus folder `Tests/Fuzz/corpus/<name>`) and what it does with an input. Every
/// target must return or throw for any input; a crash, hang or sanitizer report is a bug.
struct FuzzTarget: Sendable {
    let name: String
    let run: @Sendable (FuzzScratch, [UInt8]) throws -> Void

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "rpc", run: RPCFuzzing.run),
        FuzzTarget(name: "safetensors") { _, bytes in _ = try SafeTensors.decode(bytes, source: "fuzz input") },
        FuzzTarget(name: "job-yaml") { scratch, bytes in
            let spec = try Fedct_V1_JobSpec(contentsOf: try scratch.write(bytes, as: "job.yaml"))
            let completed = spec.applyingDefaults()
            _ = try JobPlan(spec: completed, source: "fuzz job")
            try PretrainingObjectives.validate(completed, source: "fuzz job")
        },
        FuzzTarget(name: "site-yaml") { scratch, bytes in _ = try SiteConfig(contentsOf: try scratch.write(bytes, as: "site.yaml")) },
        FuzzTarget(name: "coordinator-yaml") { scratch, bytes in
            _ = try CoordinatorConfig(contentsOf: try scratch.write(bytes, as: "coordinator.yaml"))
        },
        FuzzTarget(name: "revocation-list", run: RevocationFuzzing.run),
        FuzzTarget(name: "meds-csv") { scratch, bytes in
            try readEvents(.meds(path: try scratch.write(bytes, as: "data/\(EHRSource.medsName)")))
        },
        FuzzTarget(name: "omop-csv") { scratch, bytes in
            // The first byte picks the table the rest becomes; person.csv holds one valid person otherwise.
            guard let selector = bytes.first else { return }
            let table = OMOPTable.all[Int(selector) % OMOPTable.all.count]
            let folder = "data/\(EHRSource.omopName)"
            for other in OMOPTable.all where other.fileName != table.fileName {
                try? FileManager.default.removeItem(atPath: scratch.path("\(folder)/\(other.fileName)"))
            }
            if table.fileName != OMOPTable.person.fileName {
                _ = try scratch.write(Array("person_id,gender_concept_id,year_of_birth\n1,8507,1950\n".utf8), as: "\(folder)/\(OMOPTable.person.fileName)")
            }
            _ = try scratch.write(Array(bytes.dropFirst()), as: "\(folder)/\(table.fileName)")
            try readEvents(.omop(folder: scratch.path(folder)))
        },
        FuzzTarget(name: "manifest") { scratch, bytes in _ = try CohortManifest(path: try scratch.write(bytes, as: "cohort/manifest.csv")) },
        FuzzTarget(name: "nifti") { scratch, bytes in _ = try ScanImage.read(path: try scratch.write(bytes, as: "scan.nii"), allowNonCT: true) },
        // The bridge's structure check alone (C++, instrumented by Scripts/fuzz.sh); GDCM is not instrumented.
        FuzzTarget(name: "dicom") { scratch, bytes in try DICOMFile.checkStructure(path: try scratch.write(bytes, as: "scan.dcm")) },
        // The whole reader a site runs on a scan (structure check, GDCM, geometry): for replays in child processes.
        FuzzTarget(name: "dicom-read") { scratch, bytes in _ = try ScanImage.read(path: try scratch.write(bytes, as: "scan.dcm"), allowNonCT: true) },
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// Reads every event strictly, then again listing the bad rows (the preflight's way), with numeric values and duplicates on.
    private static func readEvents(_ source: EHRSource) throws {
        var strict = EHREventReader(source: source)
        strict.parsesNumericValues = true
        try? strict.forEachEvent { _, _ in }
        var lenient = EHREventReader(source: source)
        lenient.parsesNumericValues = true
        lenient.detectsDuplicateRows = true
        try lenient.forEachEvent(problems: { _ in }, { _, _ in })
    }
}

/// A folder for inputs that the readers take by path; one per process, files overwritten per input.
final class FuzzScratch: Sendable {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func path(_ relative: String) -> String { folder.appending(path: relative).path }

    /// Writes `bytes` to `relative` (creating its folder) and returns its path.
    func write(_ bytes: [UInt8], as relative: String) throws -> String {
        let url = folder.appending(path: relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

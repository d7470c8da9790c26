// Damaged DICOM files through the whole reader (structure check, GDCM, geometry) in child processes: none may crash it.
import FedCTData
import Foundation
import XCTest

/// GDCM is not instrumented for fuzzing, so its robustness is shown here instead: mutants of the committed DICOM
/// fixtures go through `fedct-fuzz dicom-read` (the reader a site runs on a scan) in child processes, which must end
/// by returning — every file accepted or refused with a message — never by a signal.
final class DICOMChildProcessTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appending(path: "../FedCTDataTests/Fixtures/dicom").standardized

    func testDamagedFilesAreRefusedWithoutCrashingTheReader() throws {
        let harness = try ProcessHarness()
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".dcm") }.sorted()
        XCTAssertEqual(names.count, 6)
        var refused = 0
        for name in names {
            let original = try [UInt8](Data(contentsOf: Self.fixtures.appending(path: name)))
            var generator = SeededGenerator(seed: UInt64(original.count))
            let mutants = Self.mutants(of: original, using: &generator)
            let folder = harness.folder.appending(path: name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var paths: [String] = []
            for (index, bytes) in mutants.enumerated() {
                let url = folder.appending(path: "\(index).dcm")
                try Data(bytes).write(to: url)
                paths.append(url.path)
            }
            let output = try run(paths, label: name, in: harness)
            let lines = output.text.split(separator: "\n")
            let next = paths.first { path in !lines.contains { $0.hasPrefix("\(path):") } } ?? "none"
            XCTAssertEqual(output.reason, .exit, "the reader died on a mutant of \(name): first file without an answer \(next)")
            XCTAssertEqual(output.status, 0, "\(name): \(output.text.suffix(500))")
            XCTAssertEqual(lines.filter { $0.hasSuffix(": accepted") || $0.contains(": refused: ") }.count, paths.count, name)
            refused += lines.filter { $0.contains(": refused: ") }.count
            for line in lines where line.contains(": refused: ") {
                XCTAssertFalse(line.contains("Error Domain=") || line.contains("NSCocoaErrorDomain"), String(line))
            }
        }
        XCTAssertGreaterThan(refused, names.count * 10, "the mutations should damage most files")
    }

    /// Truncations at 12 lengths, and 40 copies with 1–4 bytes overwritten in the first 2 KiB (where the headers are).
    private static func mutants(of bytes: [UInt8], using generator: inout SeededGenerator) -> [[UInt8]] {
        var result = (1...12).map { Array(bytes.prefix(bytes.count * $0 / 13)) }
        let span = min(bytes.count, 2048)
        for _ in 0..<40 {
            var copy = bytes
            for _ in 0...(generator.next() % 4) {
                let choice = generator.next()
                copy[Int(generator.next() % UInt64(span))] = choice % 3 == 0 ? 0 : choice % 3 == 1 ? 0xff : UInt8(choice >> 8 & 0xff)
            }
            result.append(copy)
        }
        return result
    }

    /// Replays `paths` through `fedct-fuzz dicom-read` in one child process (2 minutes at most).
    private func run(_ paths: [String], label: String, in harness: ProcessHarness) throws
        -> (reason: Process.TerminationReason, status: Int32, text: String)
    {
        let process = try harness.start("fedct-fuzz", ["dicom-read"] + paths, label: label)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, harness.log(label))
    }
}

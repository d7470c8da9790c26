// fedct-bench-ehr: loads a MEDS event table the way a site does (SubjectTimelines) and prints rows/s and peak RSS, for Scripts/bench-ehr.sh.
import FedCTData
import Foundation

/// The process's peak resident set (VmHWM) in bytes, from /proc/self/status.
func peakResidentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    else { return 0 }
    return kilobytes * 1024
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let rows = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: fedct-bench-ehr EVENTS.csv ROWS (ROWS: the data rows the file holds, for rows/s)\n".utf8))
    exit(2)
}
let start = ContinuousClock.now
let timelines = try SubjectTimelines(medsCSV: arguments[1], trackedCodes: ["DEATH", "PE", "PH"])
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
// One lookup keeps the load from being optimised away and shows it read what it should.
let followUp = timelines.followUp(subject: "1", indexDay: 0)
print("rows \(rows) seconds \(String(format: "%.3f", seconds)) rows_per_second \(Int(Double(rows) / seconds)) peak_rss_bytes \(peakResidentBytes()) subject_1_follow_up_days \(followUp.map { String(format: "%.1f", $0.followUpDays) } ?? "none")")

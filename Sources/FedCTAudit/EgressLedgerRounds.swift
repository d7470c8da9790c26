// EgressLedgerRounds: a real ledger's training rounds as the site lived them — calls made and seconds taken — for `fedctl audit bench`.
import FedCTCore
import Foundation

/// One training round of a job in a site's ledger: from the first to the last call recorded for it.
public struct EgressLedgerRound: Sendable, Equatable {
    public var jobID: String
    public var round: Int
    /// Every call in that window, job-agnostic ones (task polls, model downloads) included.
    public var calls: Int
    /// Seconds from the round's first call to its last (entry times are to the second, so at least 1).
    public var seconds: Double

    public init(jobID: String, round: Int, calls: Int, seconds: Double) {
        self.jobID = jobID
        self.round = round
        self.calls = calls
        self.seconds = seconds
    }

    /// The training rounds (round ≥ 1) of `entries`, in order of their first call. A round's window runs from the first
    /// to the last intent carrying its job and round (key advertisement to unmasking, training in between).
    public static func rounds(in entries: [EgressEntry]) throws -> [EgressLedgerRound] {
        let parser = ISO8601DateFormatter()
        var intents: [(time: Double, job: String?, round: Int?)] = []
        for entry in entries where entry.type == .intent {
            guard let time = parser.date(from: entry.time) else {
                throw FedCTError(.invalidData, "ledger entry \(entry.seq) has the time '\(entry.time)', not ISO 8601")
            }
            intents.append((time.timeIntervalSince1970, entry.jobID, entry.round))
        }
        var windows: [String: (job: String, round: Int, start: Double, end: Double, order: Int)] = [:]
        for (index, intent) in intents.enumerated() {
            guard let job = intent.job, let round = intent.round, round >= 1 else { continue }
            let key = "\(job)#\(round)"
            if let window = windows[key] {
                windows[key] = (job, round, window.start, max(window.end, intent.time), window.order)
            } else {
                windows[key] = (job, round, intent.time, intent.time, index)
            }
        }
        return windows.values.sorted { $0.order < $1.order }.map { window in
            let calls = intents.filter { $0.time >= window.start && $0.time <= window.end }.count
            return EgressLedgerRound(jobID: window.job, round: window.round, calls: calls, seconds: max(1, window.end - window.start))
        }
    }
}

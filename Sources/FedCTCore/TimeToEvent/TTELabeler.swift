// TTELabeler: turns a scan's follow-up (first event day per task code, end of record) into piecewise-exponential targets.

/// Builds the targets of the time-to-event head for one scan.
///
/// For task j, T_j is the time from the scan's index time to the first occurrence of code j, or to
/// the end of the record (censoring). Time is cut into pieces at `pieceEdgesDays`; for piece p
/// covering [lo, hi), the time at risk is clamp(T_j − lo, 0, hi − lo) and the event indicator is 1
/// when the event falls inside the piece. Times beyond the last edge are censored there. Times at
/// risk are in years (days / 365.25), so hazards are per year.
public struct TTELabeler: Sendable {
    public static let daysPerYear = 365.25

    public let taskCodes: [String]
    public let pieceEdgesDays: [Double]

    public init(taskCodes: [String], pieceEdgesDays: [Double]) {
        self.taskCodes = taskCodes
        self.pieceEdgesDays = pieceEdgesDays
    }

    public var pieces: Int { pieceEdgesDays.count }
    public var tasks: Int { taskCodes.count }

    /// Targets laid out [piece][task], each `pieces × tasks` long.
    public func labels(firstEventDays: [String: Double], followUpDays: Double) -> (timeAtRisk: [Float], events: [Float]) {
        var timeAtRisk = [Float](repeating: 0, count: pieces * tasks)
        var events = [Float](repeating: 0, count: pieces * tasks)
        for (task, code) in taskCodes.enumerated() {
            let eventDay = firstEventDays[code].flatMap { $0 > 0 && $0 <= followUpDays ? $0 : nil }
            let time = eventDay ?? followUpDays
            var lower = 0.0
            for (piece, upper) in pieceEdgesDays.enumerated() {
                let exposure = min(max(time - lower, 0), upper - lower)
                timeAtRisk[piece * tasks + task] = Float(exposure / Self.daysPerYear)
                if eventDay != nil, time >= lower, time < upper {
                    events[piece * tasks + task] = 1
                }
                lower = upper
            }
        }
        return (timeAtRisk, events)
    }
}

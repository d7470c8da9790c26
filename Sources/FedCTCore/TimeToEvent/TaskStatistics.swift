// TaskStatistics: a site's contribution to the setup stage — candidate codes, then integer count vectors to be summed across sites.

/// What one site computes for task derivation from its scans' follow-ups.
///
/// Candidates leave as names only. The two summed stages are vectors of non-negative integers laid
/// out as below, so that the coordinator's sum over sites is the pooled statistic:
/// - prevalence: [patients with follow-up, then for each candidate the patients with it after an index];
/// - rates: [events per task, censored per task, observed hours per task, then the event-time histogram].
/// A patient counts for a code when the code (or a descendant) occurs after the index time of any of
/// the patient's scans, within that scan's follow-up. Events, censoring and observed time are per scan,
/// like the training targets: time is the first occurrence of the task's code, or the end of the
/// record, capped at the grid's last edge (where TTELabeler censors).
public enum TaskStatistics {
    /// Observed time is summed in whole hours (each scan's time rounded to the nearest hour).
    public static let hoursPerDay = 24.0
    /// Codes at least `minPatients` of this site's patients have after an index time, sorted by name.
    public static func candidates(_ followUps: [ScanFollowUp], minPatients: Int) -> [String] {
        patientsPerCode(followUps).filter { $0.value >= max(1, minPatients) }.keys.sorted()
    }

    /// The prevalence vector over the published `candidates` (cohort size first).
    public static func prevalence(_ followUps: [ScanFollowUp], candidates: [String]) -> [UInt64] {
        let patients = patientsPerCode(followUps)
        return [UInt64(Set(followUps.map(\.subject)).count)] + candidates.map { UInt64(patients[$0] ?? 0) }
    }

    /// How many distinct patients have each code after an index time.
    static func patientsPerCode(_ followUps: [ScanFollowUp]) -> [String: Int] {
        var patients: [String: Set<String>] = [:]
        for scan in followUps {
            for code in scan.firstEventDays.keys { patients[code, default: []].insert(scan.subject) }
        }
        return patients.mapValues(\.count)
    }

    /// The rates vector over the chosen `tasks` on `grid`.
    public static func rates(_ followUps: [ScanFollowUp], tasks: [String], grid: EventTimeGrid) -> [UInt64] {
        let layout = RatesLayout(tasks: tasks.count, grid: grid)
        var vector = [UInt64](repeating: 0, count: layout.count)
        for scan in followUps {
            for (task, code) in tasks.enumerated() {
                let end = min(scan.followUpDays, grid.lastEdgeDays)
                let observed: Double
                if let day = scan.firstEventDays[code], day <= end {
                    vector[layout.events + task] += 1
                    vector[layout.histogram + grid.bin(of: day)] += 1
                    observed = day
                } else {
                    vector[layout.censored + task] += 1
                    observed = end
                }
                vector[layout.observedHours + task] += UInt64((observed * hoursPerDay).rounded())
            }
        }
        return vector
    }

    /// Where each part of the rates vector starts.
    public struct RatesLayout: Sendable, Equatable {
        public let tasks: Int
        public let bins: Int
        public var events: Int { 0 }
        public var censored: Int { tasks }
        public var observedHours: Int { 2 * tasks }
        public var histogram: Int { 3 * tasks }
        public var count: Int { 3 * tasks + bins }

        public init(tasks: Int, grid: EventTimeGrid) {
            self.tasks = tasks
            self.bins = grid.bins
        }
    }
}

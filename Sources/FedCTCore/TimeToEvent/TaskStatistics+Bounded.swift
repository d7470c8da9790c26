// TaskStatistics+Bounded: the setup stage's count vectors with each patient's contribution bounded, for noised setup counts.

extension TaskStatistics {
    /// The prevalence vector (`prevalence(_:candidates:)`) and its sensitivity: a patient adds at most 1 to the cohort
    /// and to each candidate's count, so one patient moves the vector by at most √(candidates + 1) in L2.
    public static func boundedPrevalence(_ followUps: [ScanFollowUp], candidates: [String]) -> BoundedCounts {
        BoundedCounts(values: prevalence(followUps, candidates: candidates), parts: [
            BoundedCounts.Part(name: "patients, then patients per candidate", range: 0..<(candidates.count + 1),
                               sensitivity: Double(candidates.count + 1).squareRoot()),
        ])
    }

    /// The rates vector (`rates(_:tasks:grid:)`) over one scan per patient (the first of theirs in `followUps`), so that
    /// a patient adds, per task, 1 to its events or to its censored scans (√tasks in L2 over both), at most the grid's last
    /// edge in hours to its observed time (that many hours · √tasks), and at most `tasks` entries to the histogram.
    public static func boundedRates(_ followUps: [ScanFollowUp], tasks: [String], grid: EventTimeGrid) -> BoundedCounts {
        var seen = Set<String>()
        let firstScans = followUps.filter { seen.insert($0.subject).inserted }
        let layout = RatesLayout(tasks: tasks.count, grid: grid)
        let perTask = Double(max(tasks.count, 1)).squareRoot()
        let maxHours = max((grid.lastEdgeDays * hoursPerDay).rounded(), 1)
        return BoundedCounts(values: rates(firstScans, tasks: tasks, grid: grid), parts: [
            BoundedCounts.Part(name: "events and censored scans per task", range: layout.events..<layout.observedHours, sensitivity: perTask),
            BoundedCounts.Part(name: "observed hours per task", range: layout.observedHours..<layout.histogram, sensitivity: maxHours * perTask),
            BoundedCounts.Part(name: "event-time histogram", range: layout.histogram..<layout.count, sensitivity: Double(max(tasks.count, 1))),
        ])
    }
}

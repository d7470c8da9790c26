// SiteDataset+TTE: the time-to-event objective's site-side examples — targets from the follow-up by the job's labeler.
public import FedCTCore

extension SiteExample {
    /// A time-to-event example: targets laid out [piece][task] (`time_at_risk`, `event`).
    public init(scanID: String, subjectID: String, input: [Float], timeAtRisk: [Float], events: [Float], firstEventDays: [String: Double],
                followUpDays: Double) {
        self.init(scanID: scanID, subjectID: subjectID, input: input, targets: ["time_at_risk": timeAtRisk, "event": events],
                  firstEventDays: firstEventDays, followUpDays: followUpDays)
    }

    /// The time-to-event targets' times at risk, [piece][task] (empty for an example of another objective).
    public var timeAtRisk: [Float] { targets["time_at_risk"] ?? [] }
    /// The time-to-event targets' event indicators, [piece][task] (empty for an example of another objective).
    public var events: [Float] { targets["event"] ?? [] }
}

extension SiteDataset {
    /// The time-to-event targets of `labeler` (the objective's batch tensors `time_at_risk` and `event`).
    public static func timeToEventTargets(_ labeler: TTELabeler) -> ExampleTargets {
        { _, firstEventDays, followUpDays in
            let labels = labeler.labels(firstEventDays: firstEventDays, followUpDays: followUpDays)
            return ["time_at_risk": labels.timeAtRisk, "event": labels.events]
        }
    }

    /// Loads every scan of the cohort with time-to-event targets from `labeler` (a task code also counts the events of its
    /// descendants in the folder's `ontology.csv`, if any); `extraCodes` are tracked besides the task codes (their first
    /// events land in `firstEventDays`, not in the targets), e.g. the evaluation's outcome codes.
    public static func load(directory: String, labeler: TTELabeler, preprocessing: Preprocessing,
                            cache: PreprocessingCache? = nil, alsoTracking extraCodes: Set<String> = []) throws -> SiteDataset {
        try load(directory: directory, trackedCodes: Set(labeler.taskCodes).union(extraCodes), preprocessing: preprocessing, cache: cache,
                 targets: timeToEventTargets(labeler))
    }
}

// BinaryOutcome: the binary evaluation tasks (mortality and readmission at 1/6/12 months, PE, PH) read from a scan's follow-up.

/// "Code `code` occurs within `horizonDays` of the index time", with unknown status for scans censored earlier.
public struct BinaryOutcome: Sendable, Hashable {
    /// Short name used in metric names, e.g. `mortality_6m`.
    public var name: String
    public var code: String
    public var horizonDays: Double

    public init(name: String, code: String, horizonDays: Double) {
        self.name = name
        self.code = code
        self.horizonDays = horizonDays
    }

    /// The paper's binary tasks: mortality (`DEATH`) and readmission (`READMISSION`) within 1, 6 and 12 months
    /// (30, 182 and 365 days), pulmonary embolism (`PE`) and pulmonary hypertension (`PH`) within 12 months.
    public static let standard: [BinaryOutcome] = [
        BinaryOutcome(name: "mortality_1m", code: "DEATH", horizonDays: 30),
        BinaryOutcome(name: "mortality_6m", code: "DEATH", horizonDays: 182),
        BinaryOutcome(name: "mortality_12m", code: "DEATH", horizonDays: 365),
        BinaryOutcome(name: "readmission_1m", code: "READMISSION", horizonDays: 30),
        BinaryOutcome(name: "readmission_6m", code: "READMISSION", horizonDays: 182),
        BinaryOutcome(name: "readmission_12m", code: "READMISSION", horizonDays: 365),
        BinaryOutcome(name: "pe_12m", code: "PE", horizonDays: 365),
        BinaryOutcome(name: "ph_12m", code: "PH", horizonDays: 365),
    ]

    /// MEDFORM's few-shot task (Docs/science.md): lung cancer, the ICD-10 C34 diagnosis within 12 months of the scan.
    public static let lungCancer = BinaryOutcome(name: "lung_cancer_12m", code: "ICD10/C34", horizonDays: 365)

    /// The time-to-event evaluation tasks (a Cox probe each, scored by Harrell's C).
    public static let survivalCodes = ["DEATH", "PE", "PH", "READMISSION"]

    /// Every code the evaluation needs a site to track in its records.
    public static var trackedCodes: Set<String> { Set(standard.map(\.code)).union(survivalCodes) }

    /// True when the first `code` event after the index is at or before the horizon (and inside the follow-up),
    /// false when the follow-up reaches the horizon without it, nil when the record ends before the horizon without
    /// the event (status unknown: such scans are left out, not counted negative).
    public func label(firstEventDays: [String: Double], followUpDays: Double) -> Bool? {
        if let day = firstEventDays[code], day <= followUpDays, day <= horizonDays { return true }
        return followUpDays >= horizonDays ? false : nil
    }
}

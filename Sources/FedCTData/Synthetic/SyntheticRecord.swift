// SyntheticRecord: one synthetic patient's follow-up (index time, censoring, outcome times) and MEDS event rows.
import Foundation

/// One patient's timeline: the scan's index day, the end of the record and each outcome's event time.
struct SyntheticRecord: Sendable {
    /// Scans are taken between 2015-01-01 and 2019-12-31; follow-up ends administratively on 2020-07-01.
    static let firstIndexDay = EventTime.days("2015-01-01")!
    static let studyEndDay = EventTime.days("2020-07-01")!

    let indexDay: Double
    /// Years from the scan to the end of the record: death, loss to follow-up (rate 0.05 a year) or the study's end.
    let endYears: Double
    /// Each outcome's event time in years after the scan (`SyntheticOutcome.all` order); recorded only when ≤ `endYears`.
    let outcomeYears: [Double]
    /// Outpatient and emergency visits per year: sicker patients are seen more often, so the timing of background codes
    /// carries a weak signal of the patient's health (and so of the image), as real records do.
    let visitsPerYear: Double

    /// The visit rate of a patient whose true death hazard is `deathHazard` per year: 6 × √(hazard / 0.03), within 3…24.
    static func visitsPerYear(deathHazard: Double) -> Double {
        min(24, max(3, 6 * (deathHazard / 0.03).squareRoot()))
    }

    /// Draws the index time, the censoring time and every outcome time from `hazards` (`SyntheticOutcome.all` order; the first is death).
    init(hazards: [Double], random: inout SeededGenerator) {
        indexDay = Self.firstIndexDay + floor(random.uniform() * 5 * 365)
        let censorYears = min((Self.studyEndDay - indexDay) / 365.25, random.exponential(rate: 0.05))
        outcomeYears = hazards.map { random.exponential(rate: $0) }
        endYears = min(censorYears, outcomeYears[0])
        visitsPerYear = Self.visitsPerYear(deathHazard: hazards[0])
    }

    /// The patient's MEDS rows (`subject_id,time,code,numeric_value`): birth, sex, background visits (`visitsPerYear`) from three
    /// years before the scan to the end of the record (diagnoses, labs with values, drugs, procedures), outcomes, and
    /// `VISIT/END_OF_RECORD`.
    func eventRows(_ patient: SyntheticPatient, vocabulary: SyntheticVocabulary, random: inout SeededGenerator) -> String {
        let subject = patient.subjectID
        var rows = "\(subject),\(EventTime.iso8601(days: indexDay - patient.age * 365.25)),MEDS_BIRTH,\n"
        rows += "\(subject),,SEX/\(patient.isMale ? "M" : "F"),\n"
        let endDay = indexDay + endYears * 365.25
        var day = indexDay - 3 * 365
        while true {
            day += random.exponential(rate: visitsPerYear) * 365.25
            if day > endDay { break }
            let time = EventTime.iso8601(days: day)
            rows += "\(subject),\(time),\(random.uniform() < 0.1 ? "VISIT/EMERGENCY" : "VISIT/OUTPATIENT"),\n"
            // Each code at most once per visit (a repeated draw is dropped), so no row duplicates another.
            var drawn = Set<String>()
            for _ in 0..<(1 + Int(random.uniform() * 3)) {
                let code = vocabulary.diagnoses.draw(&random)
                if drawn.insert(code).inserted { rows += "\(subject),\(time),\(code),\n" }
            }
            for _ in 0..<Int(random.uniform() * 7) {
                let code = vocabulary.labs.draw(&random)
                let range = vocabulary.labRanges[code]!
                let value = String(format: "%.2f", max(range.mean + range.sd * random.normal(), 0))
                if drawn.insert(code).inserted { rows += "\(subject),\(time),\(code),\(value)\n" }
            }
            for _ in 0..<Int(random.uniform() * 3) {
                let code = vocabulary.drugs.draw(&random)
                if drawn.insert(code).inserted { rows += "\(subject),\(time),\(code),\n" }
            }
            if random.uniform() < 0.3 {
                rows += "\(subject),\(time),\(vocabulary.procedures.draw(&random)),\n"
            }
        }
        for (outcome, years) in zip(SyntheticOutcome.all, outcomeYears) where years <= endYears {
            let time = EventTime.iso8601(days: indexDay + years * 365.25)
            if outcome.code == SyntheticOutcome.readmissionCode { rows += "\(subject),\(time),VISIT/INPATIENT,\n" }
            rows += "\(subject),\(time),\(outcome.code),\n"
        }
        // The record ends at death or at the last contact before censoring.
        rows += "\(subject),\(EventTime.iso8601(days: endDay)),VISIT/END_OF_RECORD,\n"
        return rows
    }
}

// SyntheticOutcome: the synthetic cohort's outcomes — MEDS code, ground-truth column and true yearly hazard of each.
import Foundation

/// One outcome of the synthetic cohort: an exponential event time after the scan with a yearly hazard that depends on
/// the patient's image biomarkers, age and sex.
public struct SyntheticOutcome: Sendable {
    /// The ground-truth column is `hazard_<name>`.
    public let name: String
    /// The MEDS code recorded at the event.
    public let code: String
    /// The true hazard per year.
    public let hazard: @Sendable (SyntheticPatient) -> Double

    /// Every outcome, in ground-truth column order. L lesion, E emphysema, F effusion, H heart size in SDs,
    /// A = 0.03·(age − 65), M = 1 for male.
    public static let all: [SyntheticOutcome] = [
        SyntheticOutcome(name: "death", code: "DEATH") { p in
            0.03 * exp(3.0 * p.biomarkers.lesion + 1.2 * p.biomarkers.emphysema + 0.5 * p.heartZ + 1.5 * p.biomarkers.effusion + 0.5 * p.ageTerm + 0.1 * male(p))
        },
        SyntheticOutcome(name: "pe", code: "PE") { p in
            0.04 * exp(2.0 * p.biomarkers.lesion + 0.4 * p.heartZ + 0.8 * p.biomarkers.effusion)
        },
        SyntheticOutcome(name: "ph", code: "PH") { p in
            0.03 * exp(1.6 * p.biomarkers.emphysema + 1.0 * p.heartZ + 0.6 * p.biomarkers.effusion + 0.5 * p.ageTerm)
        },
        SyntheticOutcome(name: "readmission", code: readmissionCode) { p in
            0.25 * exp(0.8 * p.biomarkers.lesion + 0.6 * p.biomarkers.emphysema + 0.4 * p.heartZ + 1.0 * p.biomarkers.effusion + 0.5 * p.ageTerm)
        },
        SyntheticOutcome(name: "nodule", code: "ICD10/R91.1") { p in
            p.biomarkers.lesion > 0 ? 0.25 * exp(2.5 * p.biomarkers.lesion) : 0.01
        },
        SyntheticOutcome(name: "lung_cancer", code: "ICD10/C34") { p in 0.01 * exp(3.5 * p.biomarkers.lesion) },
        SyntheticOutcome(name: "emphysema", code: "ICD10/J43") { p in 0.04 * exp(3.0 * p.biomarkers.emphysema) },
        SyntheticOutcome(name: "copd", code: "ICD10/J44") { p in
            0.05 * exp(2.0 * p.biomarkers.emphysema + 0.3 * p.ageTerm + 0.01 * p.packYears)
        },
        SyntheticOutcome(name: "cardiomegaly", code: "ICD10/I51.7") { p in 0.03 * exp(1.5 * p.heartZ) },
        SyntheticOutcome(name: "heart_failure", code: "ICD10/I50") { p in
            0.03 * exp(1.2 * p.heartZ + 0.5 * p.ageTerm + 0.8 * p.biomarkers.effusion)
        },
        SyntheticOutcome(name: "pleural_effusion", code: "ICD10/J90") { p in
            p.biomarkers.effusion > 0 ? 0.3 * exp(2.0 * p.biomarkers.effusion) : 0.005
        },
    ]

    /// The code of the first unplanned inpatient admission after the scan (recorded with a `VISIT/INPATIENT` visit).
    public static let readmissionCode = "READMISSION"

    private static func male(_ patient: SyntheticPatient) -> Double { patient.isMale ? 1 : 0 }
}

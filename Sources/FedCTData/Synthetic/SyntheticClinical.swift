// SyntheticClinical: the clinical numeric features row of a synthetic scan (age, sex, BMI, smoking, SpO2, BNP, D-dimer, FEV1 %, creatinine).
import Foundation

/// One scan's clinical features, noisy and partly informative of the image biomarkers; about 5 % of the measured
/// values (all but age and sex) are missing and written as empty fields.
public enum SyntheticClinical {
    /// The columns of `clinical.csv` after `scan_id`.
    public static let columns = ["age", "sex", "bmi", "pack_years", "spo2", "bnp", "d_dimer", "fev1_pct", "creatinine"]

    /// The `clinical.csv` header.
    public static var header: String { "scan_id," + columns.joined(separator: ",") + "\n" }

    /// The row of scan `scanID` of `patient`: SpO2 falls with emphysema and effusion, BNP rises with heart size and
    /// effusion, D-dimer with the lesion, FEV1 % falls with emphysema and smoking, BMI follows body size.
    public static func row(scanID: String, patient: SyntheticPatient, random: inout SeededGenerator) -> String {
        let markers = patient.biomarkers
        let measured: [(value: Double, format: String)] = [
            (26 + 40 * (patient.habitus.bodyScale - 0.95) + 3 * random.normal(), "%.1f"),
            (patient.packYears + (patient.packYears > 0 ? 4 * random.normal() : 0), "%.0f"),
            (97.5 - 6 * markers.emphysema - 4 * markers.effusion + 1.2 * random.normal(), "%.0f"),
            (exp(log(60) + 0.45 * patient.heartZ + 1.2 * markers.effusion + 0.01 * (patient.age - 65) + 0.5 * random.normal()), "%.0f"),
            (exp(log(0.4) + 1.3 * markers.lesion + 0.6 * random.normal()), "%.2f"),
            (95 - 50 * markers.emphysema - 0.25 * patient.packYears + 9 * random.normal(), "%.0f"),
            (exp(log(0.9) + 0.004 * (patient.age - 65) + (patient.isMale ? 0.15 : 0) + 0.2 * random.normal()), "%.2f"),
        ]
        let values = measured.map { measurement in
            random.uniform() < 0.05 ? "" : String(format: measurement.format, max(measurement.value, 0))
        }
        return ([scanID, String(format: "%.0f", patient.age), patient.isMale ? "1" : "0"] + values).joined(separator: ",") + "\n"
    }
}

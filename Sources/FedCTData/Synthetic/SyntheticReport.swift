// SyntheticReport: a templated radiology report per synthetic scan — findings with negations, paraphrases and sizes, consistent with the biomarkers.
import Foundation

/// Writes the report of one synthetic chest CT. Each finding is stated when its biomarker is above the threshold the
/// image shows it at, and negated otherwise; the wording is drawn from a few paraphrases, sizes from the biomarkers.
public enum SyntheticReport {
    /// Effusions at or above this are reported (they fill ≥ 5.5 % of the lung's depth); below it the report negates one.
    public static let effusionThreshold = 0.1
    /// Emphysema at or above this is reported (mild below 0.35, then moderate, severe from 0.6).
    public static let emphysemaThreshold = 0.15
    /// Heart size (relative to normal) at or above this is reported as cardiomegaly.
    public static let cardiomegalyThreshold = 1.15
    /// Lengths in reports are on a nominal chest of 175 mm half-width (the phantom's unit).
    public static let millimetresPerUnit = 175.0

    /// The report text for `patient`'s study of `series` (by default the single plain series); a study of several series
    /// gets a technique line naming them.
    public static func text(for patient: SyntheticPatient, series: [SeriesAcquisition] = [.standard], random: inout SeededGenerator) -> String {
        let markers = patient.biomarkers
        var findings: [String] = []
        findings.append(lesionSentence(markers.lesion, random: &random))
        findings.append(emphysemaSentence(markers.emphysema, random: &random))
        findings.append(effusionSentence(markers, random: &random))
        findings.append(heartSentence(markers.heart, random: &random))
        findings.append(pick(["The thoracic spine is unremarkable.", "No acute osseous abnormality.", "Bones are intact."], &random))

        var impression: [String] = []
        if ChestPhantom.lesionRadius(markers.lesion) > 0 { impression.append("Pulmonary \(lesionNoun(markers.lesion)) as above; recommend follow-up.") }
        if markers.emphysema >= emphysemaThreshold { impression.append("Emphysema.") }
        if markers.effusion >= effusionThreshold { impression.append("\(effusionSide(markers.effusionSide).capitalizedFirst) pleural effusion.") }
        if markers.heart >= cardiomegalyThreshold { impression.append("Cardiomegaly.") }
        if impression.isEmpty { impression.append(pick(["No acute cardiopulmonary abnormality.", "Normal CT of the chest."], &random)) }

        return """
            EXAMINATION: \(examination(series))
            CLINICAL INDICATION: \(pick(["Dyspnea.", "Cough.", "Follow-up.", "Chest pain.", "Screening."], &random))
            FINDINGS:
            \(findings.joined(separator: "\n"))
            IMPRESSION:
            \(impression.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n"))

            """
    }

    /// The examination line, and for several series the technique line after it.
    private static func examination(_ series: [SeriesAcquisition]) -> String {
        let contrast = series.contains { $0.kind == .contrast }
        let line = contrast ? "CT chest without and with intravenous contrast." : "CT chest without contrast."
        guard series.count > 1 else { return line }
        let names: [SeriesAcquisition.Kind: String] = [
            .standard: "standard axial", .contrast: "post-contrast axial", .lungKernel: "lung kernel", .softTissue: "thick soft-tissue",
            .localizer: "low-resolution scout",
        ]
        return line + "\nTECHNIQUE: \(series.count) series (" + series.map { names[$0.kind]! }.joined(separator: ", ") + ")."
    }

    private static func lesionSentence(_ lesion: Double, random: inout SeededGenerator) -> String {
        let radius = ChestPhantom.lesionRadius(lesion)
        guard radius > 0 else {
            return pick(["No pulmonary nodule or mass.", "There are no suspicious pulmonary nodules.", "No focal lung lesion is identified."], &random)
        }
        let millimetres = Int((2 * radius * millimetresPerUnit).rounded())
        let size = millimetres >= 30 ? String(format: "%.1f cm", Double(millimetres) / 10) : "\(millimetres) mm"
        let lobe = pick(["right upper lobe", "right lower lobe", "left upper lobe", "left lower lobe"], &random)
        return pick(["A \(size) solid \(lesionNoun(lesion)) in the \(lobe).", "There is a \(size) \(lesionNoun(lesion)) in the \(lobe).",
                     "\(lesionNoun(lesion).capitalizedFirst) in the \(lobe) measuring \(size)."], &random)
    }

    private static func lesionNoun(_ lesion: Double) -> String { 2 * ChestPhantom.lesionRadius(lesion) * millimetresPerUnit >= 30 ? "mass" : "nodule" }

    private static func emphysemaSentence(_ emphysema: Double, random: inout SeededGenerator) -> String {
        guard emphysema >= emphysemaThreshold else {
            return pick(["No emphysema.", "The lungs are clear without emphysema.", "No evidence of emphysema."], &random)
        }
        let grade = emphysema >= 0.6 ? "Severe" : (emphysema >= 0.35 ? "Moderate" : "Mild")
        return pick(["\(grade) centrilobular emphysema.", "\(grade) emphysematous changes in both lungs.",
                     "There is \(grade.lowercased()) emphysema, upper lobe predominant."], &random)
    }

    private static func effusionSentence(_ markers: ChestBiomarkers, random: inout SeededGenerator) -> String {
        guard markers.effusion >= effusionThreshold else {
            return pick(["No pleural effusion.", "No evidence of pleural effusion.", "Pleural effusion is not seen.",
                         "No pleural effusion or pneumothorax."], &random)
        }
        let grade = markers.effusion >= 0.6 ? "large" : (markers.effusion >= 0.3 ? "moderate" : "small")
        let depth = String(format: "%.1f cm", 2 * 0.55 * markers.effusion * 0.38 * millimetresPerUnit / 10)
        let side = effusionSide(markers.effusionSide)
        let plural = markers.effusionSide == .both ? "effusions" : "effusion"
        return pick(["\(grade.capitalizedFirst) \(side) pleural \(plural).", "There is a \(grade) \(side) pleural \(plural) layering dependently, \(depth) in depth.",
                     "\(grade.capitalizedFirst) dependent \(side) pleural fluid (pleural \(plural)), about \(depth) deep."], &random)
    }

    private static func effusionSide(_ side: EffusionSide) -> String {
        switch side {
        case .left: "left"
        case .right: "right"
        case .both: "bilateral"
        }
    }

    private static func heartSentence(_ heart: Double, random: inout SeededGenerator) -> String {
        guard heart >= cardiomegalyThreshold else {
            return pick(["Heart size is normal.", "No cardiomegaly.", "The heart is not enlarged."], &random)
        }
        return pick(["Cardiomegaly.", "The heart is enlarged.", "Enlarged cardiac silhouette (cardiomegaly)."], &random)
    }

    private static func pick(_ options: [String], _ random: inout SeededGenerator) -> String {
        options[Int(random.uniform() * Double(options.count))]
    }
}

extension String {
    /// The string with its first character upper-cased.
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

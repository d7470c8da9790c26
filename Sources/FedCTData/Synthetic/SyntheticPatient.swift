// SyntheticPatient: one synthetic patient's latent factors (demographics, smoking, image biomarkers, habitus), drawn from a site's population.
import Foundation

/// The latent factors of one synthetic patient: what the outcomes, the image, the report and the clinical features are made from.
public struct SyntheticPatient: Sendable {
    public var subjectID: String
    public var age: Double
    public var isMale: Bool
    /// Smoking history in pack-years (0 for never-smokers).
    public var packYears: Double
    public var biomarkers: ChestBiomarkers
    public var habitus: ChestHabitus

    public init(subjectID: String, age: Double, isMale: Bool, packYears: Double, biomarkers: ChestBiomarkers, habitus: ChestHabitus) {
        self.subjectID = subjectID
        self.age = age
        self.isMale = isMale
        self.packYears = packYears
        self.biomarkers = biomarkers
        self.habitus = habitus
    }

    /// Heart size in standard deviations of the population ((heart − 1) / 0.13).
    public var heartZ: Double { (biomarkers.heart - 1) / 0.13 }

    /// 0.03 per year of age above 65 (the log-hazard's age term).
    public var ageTerm: Double { 0.03 * (age - 65) }

    /// Draws a patient of `site`'s population. Smoking raises emphysema and the chance of a lesion; a large heart
    /// raises the chance of an effusion (then usually on both sides).
    public static func draw(subjectID: String, site: SyntheticSiteProfile, random: inout SeededGenerator) -> SyntheticPatient {
        let age = min(max(65 + site.ageShift + 10 * random.normal(), 35), 92)
        let isMale = random.uniform() < site.maleFraction
        let packYears = random.uniform() < site.smokerFraction ? 10 + 40 * pow(random.uniform(), 1.2) : 0
        let lesion = random.uniform() < 0.4 - 0.004 * packYears ? 0 : pow(random.uniform(), 0.8)
        let emphysema = min(max(0.7 * pow(random.uniform(), 1.5) + 0.008 * packYears + 0.04 * random.normal(), 0), 1)
        let heart = min(max(1 + 0.13 * random.normal() + 0.002 * (age - 65), 0.75), 1.4)
        let heartZ = (heart - 1) / 0.13
        let hasEffusion = random.uniform() < site.effusionPrevalence + 0.08 * max(heartZ, 0)
        let effusion = hasEffusion ? 0.15 + 0.85 * pow(random.uniform(), 1.3) : 0
        let sideDraw = random.uniform()
        let effusionSide: EffusionSide = heartZ > 1 || sideDraw < 0.3 ? .both : (sideDraw < 0.7 ? .right : .left)
        let biomarkers = ChestBiomarkers(lesion: lesion, emphysema: emphysema, heart: heart, effusion: effusion, effusionSide: effusionSide)
        return SyntheticPatient(subjectID: subjectID, age: age, isMale: isMale, packYears: packYears, biomarkers: biomarkers,
                                habitus: ChestHabitus.draw(&random))
    }
}

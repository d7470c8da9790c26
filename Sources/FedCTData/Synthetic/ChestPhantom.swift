// ChestPhantom: renders a CT-like chest volume in HU (body, lungs, heart, spine, lesion, emphysema) from latent biomarkers.

/// The image biomarkers of one synthetic patient; they drive both the image and the hazards.
public struct ChestBiomarkers: Sendable, Hashable {
    /// Lesion size in [0, 1] (0: no visible lesion).
    public var lesion: Double
    /// Fraction of lung affected by emphysema-like low attenuation, in [0, 1].
    public var emphysema: Double
    /// Heart size relative to normal (1.0).
    public var heart: Double
}

/// Anatomy that varies between patients but carries no risk: body habitus, lung size, position in the field of view.
public struct ChestHabitus: Sendable, Hashable {
    /// Scale of the body outline (1: average).
    public var bodyScale: Double
    /// Scale of the lungs relative to the body.
    public var lungScale: Double
    /// Offset of the patient in the field of view, in half-widths of the volume.
    public var shift: (x: Double, y: Double, z: Double)

    public static func == (lhs: ChestHabitus, rhs: ChestHabitus) -> Bool {
        lhs.bodyScale == rhs.bodyScale && lhs.lungScale == rhs.lungScale && lhs.shift == rhs.shift
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bodyScale)
        hasher.combine(lungScale)
        hasher.combine(shift.x)
        hasher.combine(shift.y)
        hasher.combine(shift.z)
    }

    /// A patient drawn from the population.
    public static func draw(_ random: inout SeededGenerator) -> ChestHabitus {
        ChestHabitus(bodyScale: 0.84 + 0.22 * random.uniform(), lungScale: 0.88 + 0.22 * random.uniform(),
                     shift: (0.07 * random.normal(), 0.07 * random.normal(), 0.07 * random.normal()))
    }
}

/// How a site's scanner renders images: noise and calibration offset in HU, slice thickness in mm.
public struct ScannerProfile: Sendable, Hashable {
    public var noiseHU: Double
    public var offsetHU: Double
    public var sliceThickness: Double
    public var pixelSpacing: Double
}

/// Draws chest phantoms.
public enum ChestPhantom {
    public static func render(size: Int, biomarkers: ChestBiomarkers, habitus: ChestHabitus, scanner: ScannerProfile,
                              random: inout SeededGenerator) -> Volume {
        // Lesion placed inside one lung; low-attenuation blobs scattered through both lungs.
        let side = random.uniform() < 0.5 ? -1.0 : 1.0
        let lesionCentre = (x: side * (0.33 + 0.06 * random.normal()) * habitus.bodyScale, y: -0.05 + 0.1 * random.normal(), z: 0.1 + 0.25 * random.normal())
        let lesionRadius = biomarkers.lesion < 0.1 ? 0 : 0.08 + 0.22 * biomarkers.lesion
        let blobCount = Int((biomarkers.emphysema * 24).rounded())
        let blobs = (0..<blobCount).map { _ in
            (x: (random.uniform() < 0.5 ? -1.0 : 1.0) * (0.35 + 0.12 * random.normal()),
             y: -0.05 + 0.2 * random.normal(), z: 0.1 + 0.35 * random.normal(), r: 0.08 + 0.06 * random.uniform())
        }
        let heartScale = biomarkers.heart * habitus.bodyScale
        let body = habitus.bodyScale
        let lung = habitus.bodyScale * habitus.lungScale
        let half = Double(size) / 2
        var voxels = [Float](repeating: 0, count: size * size * size)
        for k in 0..<size {
            let z = (Double(k) + 0.5 - half) / half - habitus.shift.z
            for j in 0..<size {
                let y = (Double(j) + 0.5 - half) / half - habitus.shift.y
                for i in 0..<size {
                    let x = (Double(i) + 0.5 - half) / half - habitus.shift.x
                    var hu = -1000.0
                    let outline = sq(x / (0.88 * body)) + sq(y / (0.68 * body))
                    if outline <= 1 && abs(z) < 0.97 {
                        hu = outline > 0.86 ? -100 : 40
                        let leftLung = sq((x + 0.36 * body) / (0.27 * lung)) + sq((y + 0.05) / (0.38 * lung)) + sq((z - 0.1) / (0.75 * lung))
                        let rightLung = sq((x - 0.36 * body) / (0.27 * lung)) + sq((y + 0.05) / (0.38 * lung)) + sq((z - 0.1) / (0.75 * lung))
                        if leftLung <= 1 || rightLung <= 1 {
                            hu = -850
                            for blob in blobs where sq(x - blob.x) + sq(y - blob.y) + sq(z - blob.z) <= blob.r * blob.r {
                                hu = -975
                                break
                            }
                        }
                        let heart = sq((x - 0.05) / (0.22 * heartScale)) + sq((y + 0.2) / (0.2 * heartScale)) + sq((z + 0.05) / (0.3 * heartScale))
                        if heart <= 1 { hu = 45 }
                        if sq(x / 0.09) + sq((y - 0.5 * body) / 0.09) <= 1 { hu = 700 }
                        if lesionRadius > 0,
                            sq(x - lesionCentre.x) + sq(y - lesionCentre.y) + sq(z - lesionCentre.z) <= lesionRadius * lesionRadius
                        {
                            hu = 30
                        }
                    }
                    voxels[(k * size + j) * size + i] = Float(hu + scanner.offsetHU + scanner.noiseHU * random.normal())
                }
            }
        }
        return Volume(width: size, height: size, depth: size,
                      spacing: (scanner.pixelSpacing, scanner.pixelSpacing, scanner.sliceThickness), voxels: voxels)
    }

    private static func sq(_ value: Double) -> Double { value * value }
}

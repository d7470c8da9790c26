// ChestPhantom: renders a CT-like chest volume in HU (body, ribs, lungs, heart, spine, lesion, emphysema, effusion) from latent biomarkers.
import Foundation

/// Which pleural space holds fluid.
public enum EffusionSide: String, Sendable, Hashable {
    case left, right, both
}

/// The image biomarkers of one synthetic patient; they drive both the image and the hazards.
public struct ChestBiomarkers: Sendable, Hashable {
    /// Lesion size in [0, 1] (0: no visible lesion; below 0.1 nothing is drawn).
    public var lesion: Double
    /// Fraction of lung affected by emphysema-like low attenuation, in [0, 1].
    public var emphysema: Double
    /// Heart size relative to normal (1.0).
    public var heart: Double
    /// Pleural effusion in [0, 1]: the fraction of the lung's front-to-back depth (times 0.55) filled by dependent fluid; 0: none.
    public var effusion: Double
    /// The side(s) of the effusion (meaningless when `effusion` is 0).
    public var effusionSide: EffusionSide

    public init(lesion: Double, emphysema: Double, heart: Double, effusion: Double = 0, effusionSide: EffusionSide = .right) {
        self.lesion = lesion
        self.emphysema = emphysema
        self.heart = heart
        self.effusion = effusion
        self.effusionSide = effusionSide
    }
}

/// Anatomy that varies between patients but carries no risk: body habitus, lung size, position in the field of view.
public struct ChestHabitus: Sendable, Hashable {
    /// Scale of the body outline (1: average).
    public var bodyScale: Double
    /// Scale of the lungs relative to the body.
    public var lungScale: Double
    /// Offset of the patient in the field of view, in half-widths of the volume.
    public var shift: (x: Double, y: Double, z: Double)

    public init(bodyScale: Double, lungScale: Double, shift: (x: Double, y: Double, z: Double)) {
        self.bodyScale = bodyScale
        self.lungScale = lungScale
        self.shift = shift
    }

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

/// Draws chest phantoms. Coordinates are in half-widths of the volume: x to the patient's left, y from front (−) to
/// back (+, where the spine lies), z from feet to head. The patient lies supine, so fluid settles at +y.
public enum ChestPhantom {
    /// HU of pleural fluid (simple effusion, 0–20 HU).
    public static let effusionHU = 12.0

    /// The lungs' geometry for a habitus: centre offset from the midline in x, centre in y and z, semi-axes.
    public struct LungGeometry: Sendable {
        public var centreX: Double, centreY: Double, centreZ: Double
        public var radiusX: Double, radiusY: Double, radiusZ: Double

        public init(habitus: ChestHabitus) {
            let lung = habitus.bodyScale * habitus.lungScale
            centreX = 0.36 * habitus.bodyScale
            centreY = -0.05
            centreZ = 0.1
            radiusX = 0.27 * lung
            radiusY = 0.38 * lung
            radiusZ = 0.75 * lung
        }

        /// The lung's coordinates normalised to its ellipsoid (inside when their squares sum to ≤ 1), for side −1 (right) or +1 (left).
        func normalised(x: Double, y: Double, z: Double, side: Double) -> (x: Double, y: Double, z: Double) {
            ((x - side * centreX) / radiusX, (y - centreY) / radiusY, (z - centreZ) / radiusZ)
        }

        /// True when a point inside the lung on `side` lies below the fluid level of an effusion of `amount`:
        /// the dependent (posterior) part, with a meniscus climbing along the lateral chest wall.
        func isFluid(_ point: (x: Double, y: Double, z: Double), side: Double, amount: Double) -> Bool {
            let filled = 0.55 * amount
            let lateral = (side * point.x + 1) / 2
            return point.y > 1 - 2 * filled - 0.5 * filled * lateral * lateral
        }
    }

    /// Renders one volume of `size`³ voxels as `acquisition` acquires it (by default the study's plain series); `random`
    /// supplies the lesion and emphysema placement and the scanner noise.
    public static func render(size: Int, biomarkers: ChestBiomarkers, habitus: ChestHabitus, scanner: ScannerProfile,
                              acquisition: SeriesAcquisition = .standard, random: inout SeededGenerator) -> Volume {
        // Lesion placed inside one lung; low-attenuation blobs scattered through both lungs.
        let side = random.uniform() < 0.5 ? -1.0 : 1.0
        let lesionCentre = (x: side * (0.33 + 0.06 * random.normal()) * habitus.bodyScale, y: -0.05 + 0.1 * random.normal(), z: 0.1 + 0.25 * random.normal())
        let lesionRadius = lesionRadius(biomarkers.lesion)
        let blobCount = Int((biomarkers.emphysema * 24).rounded())
        let blobs = (0..<blobCount).map { _ in
            (x: (random.uniform() < 0.5 ? -1.0 : 1.0) * (0.35 + 0.12 * random.normal()),
             y: -0.05 + 0.2 * random.normal(), z: 0.1 + 0.35 * random.normal(), r: 0.08 + 0.06 * random.uniform())
        }
        let effusion = biomarkers.effusion
        let fluidRight = effusion > 0 && biomarkers.effusionSide != .left
        let fluidLeft = effusion > 0 && biomarkers.effusionSide != .right
        let heartScale = biomarkers.heart * habitus.bodyScale
        let body = habitus.bodyScale
        let lungs = LungGeometry(habitus: habitus)
        let half = Double(size) / 2 / acquisition.fieldOfView
        let centre = Double(size) / 2
        let noiseHU = scanner.noiseHU * acquisition.noiseScale
        var noise = GaussianPairs()
        var voxels = [Float](repeating: 0, count: size * size * size)
        for k in 0..<size {
            let z = (Double(k) + 0.5 - centre) / half - habitus.shift.z
            // Ribs: bright arcs in the chest wall, every ~0.16 half-widths along z.
            let ribSlice = sin(z * 40) > 0.35
            for j in 0..<size {
                let y = (Double(j) + 0.5 - centre) / half - habitus.shift.y
                for i in 0..<size {
                    let x = (Double(i) + 0.5 - centre) / half - habitus.shift.x
                    var hu = -1000.0
                    let outline = sq(x / (0.88 * body)) + sq(y / (0.68 * body))
                    if outline <= 1 && abs(z) < 0.97 {
                        // Subcutaneous fat, then chest-wall muscle with ribs, then mediastinal soft tissue.
                        hu = outline > 0.86 ? -100 : (outline > 0.72 ? (ribSlice && outline > 0.76 && outline < 0.82 ? 450 : 50) : 35)
                        for lungSide in stride(from: -1.0, through: 1.0, by: 2.0) {
                            let point = lungs.normalised(x: x, y: y, z: z, side: lungSide)
                            guard sq(point.x) + sq(point.y) + sq(point.z) <= 1 else { continue }
                            hu = -850
                            for blob in blobs where sq(x - blob.x) + sq(y - blob.y) + sq(z - blob.z) <= blob.r * blob.r {
                                hu = -975
                                break
                            }
                            if lungSide < 0 ? fluidRight : fluidLeft, lungs.isFluid(point, side: lungSide, amount: effusion) {
                                hu = effusionHU
                            }
                        }
                        let heart = sq((x - 0.05) / (0.22 * heartScale)) + sq((y + 0.2) / (0.2 * heartScale)) + sq((z + 0.05) / (0.3 * heartScale))
                        if heart <= 1 { hu = heart > 0.8 ? -60 : acquisition.bloodHU }    // pericardial fat around the myocardium and blood
                        if sq(x / 0.09) + sq((y - 0.5 * body) / 0.09) <= 1 { hu = 700 }
                        if sq((x + 0.08) / 0.07) + sq((y - 0.33 * body) / 0.07) <= 1 { hu = acquisition.bloodHU - 5 }    // descending aorta
                        if lesionRadius > 0,
                            sq(x - lesionCentre.x) + sq(y - lesionCentre.y) + sq(z - lesionCentre.z) <= lesionRadius * lesionRadius
                        {
                            hu = 30
                        }
                    }
                    voxels[(k * size + j) * size + i] = Float(hu + scanner.offsetHU + noiseHU * noise.next(&random))
                }
            }
        }
        if acquisition.blockSize > 1 { coarsen(&voxels, size: size, block: acquisition.blockSize) }
        return Volume(width: size, height: size, depth: size,
                      spacing: (scanner.pixelSpacing * acquisition.fieldOfView, scanner.pixelSpacing * acquisition.fieldOfView,
                                scanner.sliceThickness * acquisition.sliceThicknessScale), voxels: voxels)
    }

    /// Replaces each voxel by the first voxel of its `block`³ cell: the blocky look of a low-resolution series.
    private static func coarsen(_ voxels: inout [Float], size: Int, block: Int) {
        for k in 0..<size {
            for j in 0..<size {
                for i in 0..<size {
                    voxels[(k * size + j) * size + i] = voxels[((k / block * block) * size + j / block * block) * size + i / block * block]
                }
            }
        }
    }

    /// The drawn lesion's radius in half-widths for a lesion biomarker (0 below 0.1: nothing drawn).
    public static func lesionRadius(_ lesion: Double) -> Double { lesion < 0.1 ? 0 : 0.08 + 0.22 * lesion }

    private static func sq(_ value: Double) -> Double { value * value }
}

/// Standard normal values two at a time from one Box–Muller transform (half the logarithms and square roots of
/// drawing each alone), for per-voxel noise.
struct GaussianPairs {
    private var spare: Double?

    mutating func next(_ random: inout SeededGenerator) -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        let radius = (-2 * log(max(random.uniform(), 1e-300))).squareRoot()
        let angle = 2 * Double.pi * random.uniform()
        spare = radius * sin(angle)
        return radius * cos(angle)
    }
}

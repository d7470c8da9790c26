// Tests of the chest phantom: an effusion fills the dependent pleural space with fluid-density voxels; the lungs stay dark without one.
@testable import FedCTData
import XCTest

final class SyntheticPhantomTests: XCTestCase {
    private let habitus = ChestHabitus(bodyScale: 1, lungScale: 1, shift: (0, 0, 0))
    private let scanner = ScannerProfile(noiseHU: 0, offsetHU: 0, sliceThickness: 1, pixelSpacing: 1)

    /// Mean HU of the voxels of `volume` in the posterior (dependent) third of the lung on `side` (−1 right, +1 left).
    private func dependentLungMean(_ volume: Volume, side: Double) -> Double {
        let lungs = ChestPhantom.LungGeometry(habitus: habitus)
        let size = volume.width, half = Double(size) / 2
        var sum = 0.0, count = 0
        for k in 0..<size {
            for j in 0..<size {
                for i in 0..<size {
                    let point = lungs.normalised(x: (Double(i) + 0.5 - half) / half, y: (Double(j) + 0.5 - half) / half,
                                                 z: (Double(k) + 0.5 - half) / half, side: side)
                    guard point.x * point.x + point.y * point.y + point.z * point.z <= 0.8, point.y > 0.5 else { continue }
                    sum += Double(volume.voxels[(k * size + j) * size + i])
                    count += 1
                }
            }
        }
        return sum / Double(count)
    }

    private func render(_ biomarkers: ChestBiomarkers) -> Volume {
        var random = SeededGenerator(seed: 1, stream: "phantom-test")
        return ChestPhantom.render(size: 32, biomarkers: biomarkers, habitus: habitus, scanner: scanner, random: &random)
    }

    func testAnEffusionFillsTheDependentPleuralSpaceOnItsSide() {
        let clear = render(ChestBiomarkers(lesion: 0, emphysema: 0, heart: 1))
        let right = render(ChestBiomarkers(lesion: 0, emphysema: 0, heart: 1, effusion: 0.8, effusionSide: .right))
        let both = render(ChestBiomarkers(lesion: 0, emphysema: 0, heart: 1, effusion: 0.8, effusionSide: .both))
        XCTAssertLessThan(dependentLungMean(clear, side: -1), -800)
        XCTAssertLessThan(dependentLungMean(clear, side: 1), -800)
        XCTAssertGreaterThan(dependentLungMean(right, side: -1), -150, "fluid (12 HU) fills most of the dependent right lung")
        XCTAssertLessThan(dependentLungMean(right, side: 1), -800, "the left side stays clear")
        XCTAssertGreaterThan(dependentLungMean(both, side: 1), -150)
        // The fluid layers posteriorly: the front of the lung stays aerated.
        let lungs = ChestPhantom.LungGeometry(habitus: habitus)
        let size = 32, half = 16.0
        let j = Int(((lungs.centreY - 0.6 * lungs.radiusY) * half + half).rounded(.down)), i = Int((-lungs.centreX * half + half).rounded(.down))
        XCTAssertLessThan(right.voxels[(17 * size + j) * size + i], -800)
    }

    func testBiggerEffusionsFillMore() {
        let small = render(ChestBiomarkers(lesion: 0, emphysema: 0, heart: 1, effusion: 0.2, effusionSide: .left))
        let large = render(ChestBiomarkers(lesion: 0, emphysema: 0, heart: 1, effusion: 0.9, effusionSide: .left))
        let fluid = { (volume: Volume) in volume.voxels.filter { abs(Double($0) - ChestPhantom.effusionHU) < 1 }.count }
        XCTAssertGreaterThan(fluid(small), 0)
        XCTAssertGreaterThan(fluid(large), 2 * fluid(small))
    }
}

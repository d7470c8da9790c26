// Tests of the training-volume augmentation: exact flips and rotations on a small volume, identities, seeded draws.
import FedCTData
import FedCTTraining
import XCTest

final class VolumeAugmentationTests: XCTestCase {
    /// A 2×3×3 volume whose voxel (z, y, x) holds 100z + 10y + x.
    private let volume: [Float] = (0..<18).map { (index: Int) -> Float in Float(100 * (index / 9) + 10 * (index / 3 % 3) + index % 3) }

    private func apply(_ draw: VolumeAugmentation.Draw, _ input: [Float]? = nil) -> [Float] {
        VolumeAugmentation.apply(draw, to: input ?? volume, depth: 2, height: 3, width: 3)
    }

    func testFlipsMoveVoxelsExactlyAndUndoThemselves() {
        let flippedX = apply(.init(flipX: true))
        XCTAssertEqual(Array(flippedX[0..<3]), [2, 1, 0])
        XCTAssertEqual(Array(apply(.init(flipY: true))[0..<3]), [20, 21, 22])
        XCTAssertEqual(Array(apply(.init(flipZ: true))[0..<3]), [100, 101, 102])
        for draw in [VolumeAugmentation.Draw(flipX: true), .init(flipY: true), .init(flipZ: true), .init(flipZ: true, flipY: true, flipX: true)] {
            XCTAssertEqual(apply(draw, apply(draw)), volume, "\(draw)")
        }
    }

    func testQuarterTurnsRotateTheAxialPlaneLikeTorchRot90() {
        // torch.rot90(v, 1, dims=(-2, -1)) of the slice [[0,1,2],[10,11,12],[20,21,22]] is [[2,12,22],[1,11,21],[0,10,20]].
        XCTAssertEqual(Array(apply(.init(quarterTurns: 1))[0..<9]), [2, 12, 22, 1, 11, 21, 0, 10, 20])
        XCTAssertEqual(Array(apply(.init(quarterTurns: 2))[0..<9]), [22, 21, 20, 12, 11, 10, 2, 1, 0])
        XCTAssertEqual(Array(apply(.init(quarterTurns: 1))[9..<18]).map { $0 - 100 }, Array(apply(.init(quarterTurns: 1))[0..<9]), "every slice turns alike")
        var turned = volume
        for _ in 0..<4 { turned = apply(.init(quarterTurns: 1), turned) }
        XCTAssertEqual(turned, volume, "four quarter turns are the identity")
        XCTAssertEqual(apply(.init(quarterTurns: 3), apply(.init(quarterTurns: 1))), volume)
    }

    func testIntensityJitterIsScaleThenShift() {
        XCTAssertEqual(apply(.init(scale: 2, shift: -1)), volume.map { $0 * 2 - 1 })
    }

    func testProbabilityZeroIsTheIdentityAndDrawsAreSeeded() {
        var random = SeededGenerator(seed: 5)
        let none = VolumeAugmentation()
        XCTAssertTrue(none.isIdentity)
        for _ in 0..<20 { XCTAssertEqual(apply(none.draw(squarePlane: true, using: &random)), volume) }
        let always = VolumeAugmentation(flipProbability: 1, rotate90Probability: 1, intensityScaleStd: 0.1, intensityShiftStd: 0.1)
        var first = SeededGenerator(seed: 9), second = SeededGenerator(seed: 9), other = SeededGenerator(seed: 10)
        let draws = (0..<5).map { _ in always.draw(squarePlane: true, using: &first) }
        XCTAssertEqual(draws, (0..<5).map { _ in always.draw(squarePlane: true, using: &second) })
        XCTAssertNotEqual(draws, (0..<5).map { _ in always.draw(squarePlane: true, using: &other) })
        XCTAssertTrue(draws.allSatisfy { $0.flipX && $0.flipY && $0.flipZ && (1...3).contains($0.quarterTurns) })
        XCTAssertTrue(draws.allSatisfy { always.draw(squarePlane: false, using: &random).quarterTurns == 2 || $0.quarterTurns > 0 })
    }
}

final class LearningRateScheduleTests: XCTestCase {
    func testConstantWithWarmUp() {
        let schedule = LearningRateSchedule(kind: .constant, baseRate: 1e-3, warmupSteps: 4)
        XCTAssertEqual((0..<6).map { schedule.rate(step: $0, stepsInRound: 10, round: 3, rounds: 5) }, [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
    }

    func testCosineRunsFromTheBaseToTheMinimumOverTheJob() {
        let schedule = LearningRateSchedule(kind: .cosine, baseRate: 1e-3, minimumRate: 1e-5)
        XCTAssertEqual(schedule.rate(step: 0, stepsInRound: 4, round: 1, rounds: 2), 1e-3, accuracy: 1e-15)
        // Halfway through the job (round 2 of 2, step 0): (1 + cos π/2) / 2 = 1/2.
        XCTAssertEqual(schedule.rate(step: 0, stepsInRound: 4, round: 2, rounds: 2), 1e-5 + (1e-3 - 1e-5) / 2, accuracy: 1e-15)
        // Round 1, step 2 of 4: position 1/4.
        XCTAssertEqual(schedule.rate(step: 2, stepsInRound: 4, round: 1, rounds: 2), 1e-5 + (1e-3 - 1e-5) * (1 + cos(Double.pi / 4)) / 2, accuracy: 1e-15)
        let last = schedule.rate(step: 3, stepsInRound: 4, round: 2, rounds: 2)
        XCTAssertGreaterThan(last, 1e-5)
        XCTAssertLessThan(last, schedule.rate(step: 2, stepsInRound: 4, round: 2, rounds: 2))
    }
}

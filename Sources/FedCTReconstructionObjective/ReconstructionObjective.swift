// ReconstructionObjective: a small self-supervised objective that proves the objective seam end to end (bridge, site, job).
public import FedCTCore
public import FedCTData
public import FedCTProto
public import FedCTTorch
public import FedCTTraining
import Foundation

/// Predicts a coarse copy of each input volume — its mean over a `grid`³ lattice of blocks — from the encoder's pooled
/// features with one linear layer (`decoder`), by mean squared error. It needs no records and no setup stage; it exists
/// to show that an objective plugs in through its own files and one registration (Docs/architecture.md, "Adding an
/// objective"), and is registered only where asked (`registerIfRequested`, tests).
public struct ReconstructionObjective: PretrainingObjective {
    public static let name = "reconstruction"
    /// The environment variable that makes the executables register this objective (value "1").
    public static let environmentSwitch = "FEDCT_TEST_OBJECTIVES"
    public var name: String { Self.name }
    /// Mean squared error is a mean of per-example terms.
    public var supportsPatientLevelDP: Bool { true }
    /// Blocks per axis of the coarse copy.
    public let grid: Int

    public init(grid: Int = 2) { self.grid = grid }

    /// Registers the objective when the process environment sets `FEDCT_TEST_OBJECTIVES=1` (the multi-process tests do).
    public static func registerIfRequested() {
        if ProcessInfo.processInfo.environment[environmentSwitch] == "1" { PretrainingObjectives.register(ReconstructionObjective()) }
    }

    public func validate(_ spec: Fedct_V1_JobSpec, source: String) throws {
        guard spec.training.volumeSize >= Int32(grid) else {
            throw FedCTError(.invalidConfiguration, "\(source): field 'training.volume_size' must be at least \(grid) for objective '\(name)'")
        }
    }

    public func awaitsSetup(_ spec: Fedct_V1_JobSpec) -> Bool { false }

    public func setupDerivation(for spec: Fedct_V1_JobSpec) -> (any SetupDerivation)? { nil }

    public func siteSetup(for spec: Fedct_V1_JobSpec, dataDirectory: String) throws -> any SiteSetup {
        throw FedCTError(.protocolViolation, "objective '\(name)' has no setup stage")
    }

    public func modelObjective(for spec: Fedct_V1_JobSpec) throws -> ObjectiveConfig {
        let cells = grid * grid * grid
        return ObjectiveConfig(name: name, settings: ["cells": [Double(cells)]], targetShapes: ["coarse": [cells]])
    }

    public func siteExamples(for spec: Fedct_V1_JobSpec) throws -> SiteExampleRecipe {
        let size = Int(spec.training.volumeSize)
        let grid = grid
        return SiteExampleRecipe(trackedCodes: []) { input, _, _ in ["coarse": Self.coarse(input, size: size, grid: grid)] }
    }

    public func exampleKey(for spec: Fedct_V1_JobSpec) -> String { "\(name)|\(grid)" }

    /// The mean of a `size`³ volume over each of `grid`³ blocks (block of voxel i along an axis: i · grid / size).
    public static func coarse(_ volume: [Float], size: Int, grid: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: grid * grid * grid)
        var counts = [Double](repeating: 0, count: sums.count)
        for a in 0..<size {
            for b in 0..<size {
                for c in 0..<size {
                    let cell = ((a * grid / size) * grid + b * grid / size) * grid + c * grid / size
                    sums[cell] += Double(volume[(a * size + b) * size + c])
                    counts[cell] += 1
                }
            }
        }
        return zip(sums, counts).map { Float($0 / max($1, 1)) }
    }
}

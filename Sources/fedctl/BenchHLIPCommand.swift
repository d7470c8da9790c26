// fedctl bench-hlip: times HLIP training steps (image and text towers, SigLIP loss, AdamW) through the torch bridge.
import ArgumentParser
import FedCTTorch
import Foundation

struct BenchHLIP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-hlip",
        abstract: "Time HLIP training steps on fixed studies and reports (for Scripts/bench-hlip.sh).",
        discussion: "The model is HLIPConfig's default (dim 192, depth 6, 3 heads, patch 8³, slice/slice/scan ×2; text 192 × 4 blocks, 256 tokens; SigLIP).")
    @Option(help: "Voxels per side of each cubic scan.") var size = 64
    @Option(help: "Studies per step.") var batch = 4
    @Option(help: "Intra-op threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Untimed warm-up steps.") var warmup = 2
    @Option(help: "Timed steps (at least 1).") var steps = 5

    func run() throws {
        guard steps >= 1, warmup >= 0, batch >= 1, size >= 8, size % 8 == 0 else {
            throw ValidationError("--steps ≥ 1, --warmup ≥ 0, --batch ≥ 1, and --size a multiple of 8 (the patch)")
        }
        Torch.setThreadCount(threads)
        let config = HLIPConfig()
        let model = try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: 1)
        try model.resetOptimizer(.adamw, learningRate: 1e-4, weightDecay: 0)
        // The same inputs as the Python side of bench-hlip.sh: element i of the volumes is sin(0.001 i); report k is
        // "finding k " repeated to fill the context.
        let voxels = batch * size * size * size
        let volumes = (0..<voxels).map { Float(sin(0.001 * Double($0))) }
        let tokens = (0..<batch).flatMap { ByteTokenizer.encode(String(repeating: "finding \($0) ", count: 40), length: config.contextLength) }
        let studies = TensorBatch.studies(volumes, studies: batch, scans: 1, depth: size, height: size, width: size, tokens: tokens)
        let median = try BenchSteps.median(warmup: warmup, steps: steps) { _ = try model.trainStep(studies) }
        print(String(format: "median_step_seconds %.4f studies_per_second %.4f state_floats %d threads %d steps %d torch %@",
                     median, Double(batch) / median, model.parameterCount, threads, steps, Torch.version))
    }
}

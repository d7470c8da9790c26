// fedctl bench-medform: times MEDFORM training steps (stage 1: SimCLR on slices; stage 2: attention-MIL + clinical MLP, InfoNCE) through the torch bridge.
import ArgumentParser
import FedCTTorch
import Foundation

struct BenchMEDFORM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-medform",
        abstract: "Time MEDFORM training steps on fixed scans (for Scripts/bench-medform.sh).",
        discussion: """
            Stage 1: torchvision's ResNet-18 (1-channel stem, width 64), SimCLR's projection head to 128, NT-Xent (τ 0.07) on \
            two augmented views of 16 slices per scan (the defaults). Stage 2: the same ResNet-18 frozen, gated attention-MIL \
            (128 units) over bags of 16 slices, the clinical MLP on 18 features, InfoNCE (τ 0.01); with --cache the \
            frozen encoder's slice features come from the per-scan cache after the warm-up steps. AdamW, lr 1e-4.
            """)
    @Option(help: "1 (SimCLR) or 2 (attention-MIL and clinical alignment).") var stage = 1
    @Option(help: "Voxels per side of each cubic scan.") var size = 64
    @Option(help: "Scans per step.") var batch = 4
    @Flag(help: "Stage 2: keep the frozen encoder's slice features per scan (MEDFORMAlignmentConfig.sliceFeatureCache).") var cache = false
    @Option(help: "Intra-op threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Untimed warm-up steps.") var warmup = 2
    @Option(help: "Timed steps (at least 1).") var steps = 5

    func run() throws {
        guard steps >= 1, warmup >= 0, batch >= 2, size >= 32, [1, 2].contains(stage) else {
            throw ValidationError("--stage 1 or 2, --steps ≥ 1, --warmup ≥ 0, --batch ≥ 2 and --size ≥ 32")
        }
        Torch.setThreadCount(threads)
        var alignment = MEDFORMAlignmentConfig()
        alignment.sliceFeatureCache = cache
        let objective = stage == 1 ? MEDFORMConfig().objective : alignment.objective
        let model = try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: objective, seed: 1)
        try model.resetOptimizer(.adamw, learningRate: 1e-4, weightDecay: 0)
        // The same inputs as the Python side of bench-medform.sh: element i of the volumes is sin(0.001 i), of the
        // clinical vectors cos(0.7 i).
        let volumes = (0..<(batch * size * size * size)).map { Float(sin(0.001 * Double($0))) }
        var tensors = [NamedTensor(name: "volumes", shape: [batch, 1, size, size, size], values: volumes)]
        if stage == 2 {
            let clinical = alignment.clinicalFeatures
            tensors.append(NamedTensor(name: "clinical", shape: [batch, clinical], values: (0..<(batch * clinical)).map { Float(cos(0.7 * Double($0))) }))
        }
        let scans = TensorBatch(tensors)
        let median = try BenchSteps.median(warmup: warmup, steps: steps) { _ = try model.trainStep(scans) }
        print(String(format: "median_step_seconds %.4f scans_per_second %.4f state_floats %d threads %d steps %d torch %@",
                     median, Double(batch) / median, model.parameterCount, threads, steps, Torch.version))
    }
}

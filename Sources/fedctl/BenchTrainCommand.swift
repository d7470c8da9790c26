// fedctl bench-train: times full local training steps (forward, backward, optimiser) of an encoder through the torch bridge.
import ArgumentParser
import FedCTTorch
import Foundation

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-train",
        abstract: "Time training steps of an encoder with the time-to-event head on random volumes (for Scripts/bench-torch.sh).")
    @Option(help: "Encoder architecture: resnet3d or densenet121.") var architecture = "resnet3d"
    @Option(help: "ResNet depth (10, 18, 34, 50).") var depth = 18
    @Option(help: "Encoder width (ResNet first-stage planes; DenseNet initial features).") var width = 64
    @Option(help: "Stem convolution stride.") var stemStride = 2
    @Option(help: "Normalisation: batch, group or instance.") var norm = "batch"
    @Option(help: "Voxels per side of the cubic input.") var size = 64
    @Option(help: "Volumes per step.") var batch = 1
    @Option(help: "Head: tasks, pieces and rank.") var tasks = 8
    @Option var pieces = 8
    @Option var rank = 16
    @Option(help: "Optimiser: adam, adamw or sgd.") var optimizer = "adam"
    @Option(help: "Intra-op threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Untimed warm-up steps.") var warmup = 2
    @Option(help: "Timed steps (at least 1).") var steps = 10

    func run() throws {
        guard let architecture = EncoderConfig.Architecture(rawValue: architecture), let norm = EncoderConfig.Norm(rawValue: norm),
              let optimizer = Optimizer(rawValue: optimizer)
        else { throw ValidationError("--architecture, --norm or --optimizer is not one of the listed values") }
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be at least 1 and --warmup at least 0") }
        Torch.setThreadCount(threads)
        let model = try TorchModel(encoder: EncoderConfig(architecture: architecture, depth: depth, width: width, stemStride: stemStride, norm: norm),
                                 head: TTEHeadConfig(tasks: tasks, pieces: pieces, rank: rank), seed: 1)
        try model.resetOptimizer(optimizer, learningRate: 1e-4, weightDecay: 0)
        let shape = VolumeShape(batch: batch, depth: size, height: size, width: size)
        var random = SystemRandomNumberGenerator()
        let volumes = (0..<shape.voxelCount).map { _ in Float.random(in: -1...1, using: &random) }
        let targets = batch * pieces * tasks
        let time = (0..<targets).map { _ in Float.random(in: 0...1, using: &random) }
        let events = (0..<targets).map { _ in Float.random(in: 0...1, using: &random) < 0.1 ? Float(1) : 0 }
        var seconds: [Double] = []
        for step in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.trainStep(volumes: volumes, shape: shape, timeAtRisk: time, events: events)
            if step >= warmup { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        let sorted = seconds.sorted()
        let median = (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
        print(String(format: "median_step_seconds %.4f volumes_per_second %.4f state_floats %d threads %d steps %d torch %@ malloc_arenas %d",
                     median, Double(batch) / median, model.parameterCount, threads, steps, Torch.version, Torch.mallocArenaCount ?? -1))
    }
}

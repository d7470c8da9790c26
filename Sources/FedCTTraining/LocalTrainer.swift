// LocalTrainer: a site's local epochs of time-to-event training on its own scans, starting from the global model.
public import FedCTCore
public import FedCTData
public import FedCTTorch
import Foundation

/// What one round of local training produced.
public struct LocalTrainingResult: Sendable {
    public var meanLoss: Double
    public var steps: Int
    public var examples: Int
}

/// Trains a model for some epochs over a site's training examples, in shuffled mini-batches.
public struct LocalTrainer {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var weightDecay: Double
    public var volumeSize: Int

    public init(epochs: Int, batchSize: Int, learningRate: Double, weightDecay: Double, volumeSize: Int) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.volumeSize = volumeSize
    }

    /// Runs the epochs; `seed` fixes the batch order so a round is reproducible.
    public func train(_ model: TTEModel, on examples: [TTEExample], seed: UInt64) throws -> LocalTrainingResult {
        guard !examples.isEmpty else { return LocalTrainingResult(meanLoss: .nan, steps: 0, examples: 0) }
        try model.resetOptimizer(learningRate: learningRate, weightDecay: weightDecay)
        var random = SeededGenerator(seed: seed)
        var totalLoss = 0.0
        var steps = 0
        for _ in 0..<epochs {
            for batch in examples.indices.shuffled(using: &random).chunks(of: batchSize) {
                let loss = try model.trainStep(
                    volumes: batch.flatMap { examples[$0].input },
                    shape: VolumeShape(batch: batch.count, depth: volumeSize, height: volumeSize, width: volumeSize),
                    timeAtRisk: batch.flatMap { examples[$0].timeAtRisk },
                    events: batch.flatMap { examples[$0].events })
                guard loss.isFinite else {
                    throw FedCTError(.invalidData, "local training diverged (loss \(loss)) at step \(steps + 1); lower training.learning_rate")
                }
                totalLoss += Double(loss)
                steps += 1
            }
        }
        return LocalTrainingResult(meanLoss: totalLoss / Double(steps), steps: steps, examples: examples.count * epochs)
    }

    /// The embeddings of `examples`, one row each.
    public func embed(_ model: TTEModel, _ examples: [TTEExample]) throws -> [[Double]] {
        try rows(examples, width: model.embeddingDimension) { try model.embed(volumes: $0, shape: $1) }.map { $0.map(Double.init) }
    }

    /// The head's log2 hazards of `examples`, one [piece][task] row each.
    public func predictLog2Hazard(_ model: TTEModel, _ examples: [TTEExample]) throws -> [[Float]] {
        try rows(examples, width: model.head.pieces * model.head.tasks) { try model.predictLog2Hazard(volumes: $0, shape: $1) }
    }

    /// Runs `infer` over `examples` in batches and splits its output into one row of `width` per example.
    private func rows(_ examples: [TTEExample], width: Int, _ infer: ([Float], VolumeShape) throws -> [Float]) throws -> [[Float]] {
        var rows: [[Float]] = []
        for batch in examples.indices.chunks(of: batchSize) {
            let flat = try infer(batch.flatMap { examples[$0].input },
                                 VolumeShape(batch: batch.count, depth: volumeSize, height: volumeSize, width: volumeSize))
            for row in 0..<batch.count { rows.append(Array(flat[(row * width)..<((row + 1) * width)])) }
        }
        return rows
    }
}

extension Collection where Index == Int {
    /// Consecutive slices of at most `size` elements.
    func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[(startIndex + $0)..<Swift.min(startIndex + $0 + size, endIndex)]) }
    }
}

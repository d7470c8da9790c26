// LocalTrainer: a site's local epochs of training on its own scans for the model's objective, starting from the global model.
import FedCTCore
public import FedCTData
public import FedCTTorch
import Foundation

/// What one round of local training produced.
public struct LocalTrainingResult: Sendable {
    /// The mean training loss over the steps that had examples.
    public var meanLoss: Double
    /// Optimisation steps taken (under DP-SGD, including noise-only steps with empty batches).
    public var steps: Int
    /// Examples drawn over all steps (an example drawn twice counts twice).
    public var examples: Int
    /// DP-SGD's Poisson sampling rate q, the probability that a patient is in a step's batch; nil without DP-SGD.
    public var samplingRate: Double?
    /// DP-SGD's noise multiplier σ; nil without DP-SGD. With `steps` and `samplingRate`, what a privacy accountant needs.
    public var noiseMultiplier: Double?
}

/// DP-SGD settings for patient-level differential privacy (Abadi et al. 2016; see `TorchModel.setDPSGD`).
public struct DPSGDSettings: Sendable, Hashable, Codable {
    /// The L2 bound C on one patient's gradient in a step (> 0).
    public var clipNorm: Double
    /// σ: each step adds N(0, σ²C²) noise per coordinate to the sum of clipped gradients.
    public var noiseMultiplier: Double
    /// The seed of the Poisson draws and the noise. Leave it nil in production: each round then takes a fresh seed
    /// from the system's secure random source. The guarantee needs both to be secret, and the training seed is not
    /// (the coordinator writes it into the job). A fixed value makes DP rounds reproducible, for tests.
    public var seed: UInt64?

    public init(clipNorm: Double, noiseMultiplier: Double, seed: UInt64? = nil) {
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.seed = seed
    }
}

/// Trains a model for some epochs over a site's training examples, in shuffled mini-batches, or under DP-SGD in
/// Poisson-sampled batches of patients.
public struct LocalTrainer {
    public var epochs: Int
    /// Examples per forward/backward pass (the micro-batch when `gradientAccumulation` > 1).
    public var batchSize: Int
    /// The base learning rate (the schedule's `baseRate`).
    public var learningRate: Double
    public var weightDecay: Double
    public var volumeSize: Int
    /// DP-SGD, or nil for ordinary training. `train` sets (or clears) it on the model each time.
    public var dpSGD: DPSGDSettings?
    /// The optimiser started afresh at each round.
    public var optimizer: Optimizer = .adamw
    /// How the learning rate moves over steps and rounds; its `baseRate` is `learningRate`.
    public var schedule: LearningRateSchedule.Kind = .constant
    /// The cosine schedule's final learning rate.
    public var minimumLearningRate: Double = 0
    /// Steps of linear warm-up at the start of each round.
    public var warmupSteps: Int = 0
    /// Micro-batches of `batchSize` whose gradients are summed before each optimiser step (1: none). Ignored by DP-SGD,
    /// whose steps already run one example at a time.
    public var gradientAccumulation: Int = 1
    /// Random transforms of the training volumes (never of embedded or predicted ones).
    public var augmentation = VolumeAugmentation()
    /// How reports become token ids for an objective with a text tower (a pretrained BERT's WordPiece, or bytes).
    public var tokenizer: ReportTokenizer = .bytes

    public init(epochs: Int, batchSize: Int, learningRate: Double, weightDecay: Double, volumeSize: Int, dpSGD: DPSGDSettings? = nil) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.volumeSize = volumeSize
        self.dpSGD = dpSGD
    }

    /// The learning-rate schedule these settings describe.
    public var learningRateSchedule: LearningRateSchedule {
        LearningRateSchedule(kind: schedule, baseRate: learningRate, minimumRate: minimumLearningRate, warmupSteps: warmupSteps)
    }

    /// Runs the epochs of round `round` of `rounds` (for the learning-rate schedule); `seed` fixes the batch order and
    /// the augmentation so a round is reproducible (the site mixes its identity and the round into it).
    ///
    /// Without DP-SGD a step takes batchSize × gradientAccumulation shuffled examples and runs them as micro-batches of
    /// batchSize (`TorchModel.setMicroBatchSize`). A batch holds the examples' (augmented) volumes as `volumes` and their
    /// targets as the model's objective lays them out (`ObjectiveConfig.targetShapes`). An objective that caches features
    /// (`ObjectiveConfig.cachesFeatures`, HLIP) takes one contrastive loss over the step's whole batch.
    ///
    /// Under DP-SGD the unit of privacy is the patient (`subjectID`): each step takes every patient independently
    /// with probability q = batchSize / patients, and one of a sampled patient's scans at random, so a patient
    /// adds at most one clipped gradient to a step. An epoch is patients / batchSize steps, rounded. A step
    /// that draws nobody still adds noise, as in Opacus. The draws and the noise come from `dpSGD.seed`, not from
    /// `seed` (see `DPSGDSettings.seed`). Throws for a BatchNorm encoder.
    ///
    /// Data-parallel (the model has a `processGroup`): every rank runs this with the same examples and seed, so all draw
    /// the same batches and augmentations; each step's micro-batches are dealt out example by example (position p of
    /// each micro-batch to rank p mod size, under DP-SGD position p of the sampled batch), each rank trains on its share,
    /// and the bridge sums the gradients — one site step over all the examples. DP-SGD then needs `dpSGD.seed`, the same
    /// at every rank.
    public func train(_ model: TorchModel, on examples: [SiteExample], seed: UInt64, round: Int = 1, rounds: Int = 1) throws -> LocalTrainingResult {
        guard !examples.isEmpty else { return LocalTrainingResult(meanLoss: .nan, steps: 0, examples: 0) }
        let schedule = learningRateSchedule
        try model.resetOptimizer(optimizer, learningRate: learningRate, weightDecay: weightDecay, betas: (0.9, model.objective.adamBeta2 ?? 0.999),
                                 epsilon: model.objective.adamEpsilon ?? 1e-8)
        var random = SeededGenerator(seed: seed)
        var augmentationRandom = SeededGenerator(seed: seed, stream: "augmentation")
        let batches: [[Int]]
        var samplingRate: Double?
        if let dpSGD {
            if model.processGroup != nil && dpSGD.seed == nil {
                throw FedCTError(.invalidConfiguration, "data-parallel DP-SGD needs the same secret seed at every rank (DPSGDSettings.seed), so the ranks draw one batch and one noise per step")
            }
            let secret = dpSGD.seed ?? UInt64.random(in: .min ... .max)  // SystemRandomNumberGenerator: getrandom(2)
            random = SeededGenerator(seed: secret, stream: "dp-sgd poisson")
            var noiseSeed = SeededGenerator(seed: secret, stream: "dp-sgd noise")
            let patients = Dictionary(grouping: examples.indices) { examples[$0].subjectID }.values.sorted { $0[0] < $1[0] }
            let (rate, steps) = dpSGDSchedule(patients: patients.count)
            try model.setDPSGD(clipNorm: dpSGD.clipNorm, noiseMultiplier: dpSGD.noiseMultiplier,
                               expectedBatchSize: rate * Double(patients.count), seed: noiseSeed.next())
            batches = (0..<steps).map { _ in
                patients.compactMap { scans in random.uniform() < rate ? scans.randomElement(using: &random) : nil }
            }
            samplingRate = rate
        } else {
            model.disableDPSGD()
            let accumulation = max(1, gradientAccumulation)
            let share = model.processGroup.map { (batchSize + $0.size - 1) / $0.size }
            try model.setMicroBatchSize(share ?? (accumulation > 1 ? batchSize : nil))
            if model.objective.cachesFeatures && accumulation > 1 && share != nil {
                throw FedCTError(.invalidConfiguration, "objective '\(model.objective.name)' caches features across micro-batches, which data-parallel training does not support yet; set training.gradient_accumulation to 1")
            }
            try model.setFeatureCache(model.objective.cachesFeatures)
            batches = (0..<epochs).flatMap { _ in examples.indices.shuffled(using: &random).chunks(of: batchSize * accumulation) }
        }
        var totalLoss = 0.0
        var lossSteps = 0
        var drawn = 0
        var studyRandom = SeededGenerator(seed: seed, stream: "studies")
        for (step, batch) in batches.enumerated() {
            try model.setLearningRate(schedule.rate(step: step, stepsInRound: batches.count, round: round, rounds: rounds))
            // Every rank draws every example's augmentation, scans and report order, in order, and applies its own.
            let draws = batch.map { _ in augmentation.isIdentity ? nil : augmentation.draw(squarePlane: true, using: &augmentationRandom) }
            let layouts = batch.map { StudyLayout(examples[$0], objective: model.objective, tokenizer: tokenizer, random: &studyRandom) }
            let mine = rankShare(of: batch.indices, dpSGD: dpSGD != nil, group: model.processGroup)
            let volumes = mine.flatMap { position in
                layouts[position].scans.flatMap { scan in
                    let input = examples[batch[position]].inputs[scan]
                    return draws[position].map { VolumeAugmentation.apply($0, to: input, depth: volumeSize, height: volumeSize, width: volumeSize) } ?? input
                }
            }
            let indices = mine.map { batch[$0] }
            let loss = try model.trainStep(indices.isEmpty ? .empty : self.batch(of: indices, in: examples, volumes: volumes,
                                                                                 tokens: mine.flatMap { layouts[$0].tokens }, for: model))
            drawn += batch.count
            if batch.isEmpty { continue }  // a noise-only DP-SGD step has no loss
            guard loss.isFinite else {
                throw FedCTError(.invalidData, "local training diverged (loss \(loss)) at step \(step + 1); lower training.learning_rate")
            }
            totalLoss += Double(loss)
            lossSteps += 1
        }
        return LocalTrainingResult(meanLoss: totalLoss / Double(lossSteps), steps: batches.count, examples: drawn,
                                   samplingRate: samplingRate, noiseMultiplier: dpSGD?.noiseMultiplier)
    }

    /// The positions of a step's batch that this rank trains on: all of them alone; in a group of `size`, position p of
    /// each micro-batch of `batchSize` (of the whole sampled batch under DP-SGD) goes to rank p mod size.
    func rankShare(of positions: Range<Int>, dpSGD: Bool, group: (rank: Int, size: Int)?) -> [Int] {
        guard let group else { return Array(positions) }
        let chunk = dpSGD ? max(1, positions.count) : batchSize
        return positions.filter { ($0 - positions.lowerBound) % chunk % group.size == group.rank }
    }

    /// DP-SGD's schedule for a round over `patients` patients: the Poisson sampling rate q = batchSize / patients
    /// (at most 1) and the number of steps, epochs × round(patients / batchSize) — what the privacy accountant charges.
    public func dpSGDSchedule(patients: Int) -> (samplingRate: Double, steps: Int) {
        (min(1, Double(batchSize) / Double(max(1, patients))), epochs * max(1, Int((Double(patients) / Double(batchSize)).rounded())))
    }

    /// The batch of `indices`: their `volumes` ([n, 1, s, s, s], or [n, scans, 1, s, s, s] for an objective on studies),
    /// their reports' `tokens` [n, length] when the objective reads reports, and each target of the model's objective,
    /// [n] + its shape.
    func batch(of indices: [Int], in examples: [SiteExample], volumes: [Float], tokens: [Int64], for model: TorchModel) throws -> TensorBatch {
        let scans = model.objective.studyScans.map { [$0] } ?? []
        var tensors = [NamedTensor(name: "volumes", shape: [indices.count] + scans + [1, volumeSize, volumeSize, volumeSize], values: volumes)]
        if let length = model.objective.reportTokens {
            tensors.append(NamedTensor(name: "tokens", shape: [indices.count, length], tokens: tokens))
        }
        for (name, shape) in model.objective.targetShapes.sorted(by: { $0.key < $1.key }) {
            let width = shape.reduce(1, *)
            var values: [Float] = []
            values.reserveCapacity(indices.count * width)
            for index in indices {
                guard let target = examples[index].targets[name], target.count == width else {
                    throw FedCTError(.invalidData, "scan \(examples[index].scanID) has no '\(name)' target of \(width) values for objective '\(model.objective.name)'")
                }
                values.append(contentsOf: target)
            }
            tensors.append(NamedTensor(name: name, shape: [indices.count] + shape, values: values))
        }
        return TensorBatch(tensors)
    }

    /// The embeddings of `examples`, one row each.
    public func embed(_ model: TorchModel, _ examples: [SiteExample]) throws -> [[Double]] {
        try rows(examples, width: model.embeddingDimension, objective: model.objective) { try model.embed($0) }.map { $0.map(Double.init) }
    }

    /// The objective's outputs for `examples`, one row of `model.outputSize` each (time-to-event: log2 hazards [piece][task]).
    public func predict(_ model: TorchModel, _ examples: [SiteExample]) throws -> [[Float]] {
        try rows(examples, width: model.outputSize, objective: model.objective) { try model.predict($0) }
    }

    /// Runs `infer` over `examples`' volumes in batches (a study's first scans, see `StudyLayout`) and splits its output
    /// into one row of `width` per example.
    private func rows(_ examples: [SiteExample], width: Int, objective: ObjectiveConfig, _ infer: (TensorBatch) throws -> [Float]) throws -> [[Float]] {
        var rows: [[Float]] = []
        let scans = objective.studyScans.map { [$0] } ?? []
        for batch in examples.indices.chunks(of: batchSize) {
            let volumes = batch.flatMap { index in StudyLayout.firstScans(of: examples[index], count: objective.studyScans).flatMap { examples[index].inputs[$0] } }
            let flat = try infer(TensorBatch([NamedTensor(name: "volumes", shape: [batch.count] + scans + [1, volumeSize, volumeSize, volumeSize], values: volumes)]))
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

// JobSpec+Training: the job's `training:` section (local epochs, batches, optimiser, schedule, accumulation, augmentation) and its checks.
public import FedCTProto

extension Fedct_V1_TrainingSpec {
    /// The optimisers a job may ask for (`adamw` is the default: Adam with decoupled weight decay).
    public static let optimizers = ["adamw", "adam", "sgd"]
    /// The learning-rate schedules a job may ask for.
    public static let schedules = ["constant", "cosine"]

    /// The optimiser, with the default for a spec stored before the field existed.
    public var optimizerOrDefault: String { optimizer.isEmpty ? "adamw" : optimizer }
    /// The learning-rate schedule, with the default for a spec stored before the field existed.
    public var scheduleOrDefault: String { lrSchedule.isEmpty ? "constant" : lrSchedule }
    /// Micro-batches per step, with the default (1) for a spec stored before the field existed.
    public var accumulationOrDefault: Int { max(1, Int(gradientAccumulation)) }
}

extension Fedct_V1_JobSpec {
    /// Reads the `training:` section (`applyingDefaults()` then fills the keys the file leaves out).
    public mutating func parseTraining(_ section: YAMLDocument) throws {
        try section.rejectUnknownKeys(["local_epochs", "batch_size", "learning_rate", "weight_decay", "volume_size", "optimizer", "lr_schedule",
                                       "min_learning_rate", "warmup_steps", "gradient_accumulation", "augmentation"])
        if let value = try section.int("local_epochs") { training.localEpochs = Int32(clamping: value) }
        if let value = try section.int("batch_size") { training.batchSize = Int32(clamping: value) }
        if let value = try section.double("learning_rate") { training.learningRate = value }
        if let value = try section.double("weight_decay") { training.weightDecay = value }
        if let value = try section.int("volume_size") { training.volumeSize = Int32(clamping: value) }
        if let value = try section.string("optimizer") { training.optimizer = value }
        if let value = try section.string("lr_schedule") { training.lrSchedule = value }
        if let value = try section.double("min_learning_rate") { training.minLearningRate = value }
        if let value = try section.int("warmup_steps") { training.warmupSteps = Int32(clamping: value) }
        if let value = try section.int("gradient_accumulation") { training.gradientAccumulation = Int32(clamping: value) }
        if let augmentation = try section.section("augmentation") {
            try augmentation.rejectUnknownKeys(["flip_probability", "rotate90_probability", "intensity_scale_std", "intensity_shift_std"])
            if let value = try augmentation.double("flip_probability") { training.augmentation.flipProbability = value }
            if let value = try augmentation.double("rotate90_probability") { training.augmentation.rotate90Probability = value }
            if let value = try augmentation.double("intensity_scale_std") { training.augmentation.intensityScaleStd = value }
            if let value = try augmentation.double("intensity_shift_std") { training.augmentation.intensityShiftStd = value }
        }
    }

    /// Checks the training section; `fail` builds the error naming the field.
    func validateTraining(_ fail: (String, String) -> FedCTError) throws {
        let spec = training
        guard spec.localEpochs >= 1 else { throw fail("training.local_epochs", "must be at least 1 (got \(spec.localEpochs))") }
        guard spec.batchSize >= 1 else { throw fail("training.batch_size", "must be at least 1 (got \(spec.batchSize))") }
        guard spec.learningRate > 0, spec.learningRate.isFinite else { throw fail("training.learning_rate", "must be a positive number") }
        guard spec.weightDecay >= 0 else { throw fail("training.weight_decay", "must not be negative") }
        guard (8...512).contains(spec.volumeSize) else { throw fail("training.volume_size", "must be between 8 and 512 (got \(spec.volumeSize))") }
        guard Fedct_V1_TrainingSpec.optimizers.contains(spec.optimizerOrDefault) else {
            throw fail("training.optimizer", "must be adamw, adam or sgd (got '\(spec.optimizer)')")
        }
        guard Fedct_V1_TrainingSpec.schedules.contains(spec.scheduleOrDefault) else {
            throw fail("training.lr_schedule", "must be constant or cosine (got '\(spec.lrSchedule)')")
        }
        guard spec.minLearningRate >= 0, spec.minLearningRate <= spec.learningRate else {
            throw fail("training.min_learning_rate", "must be between 0 and training.learning_rate (\(spec.learningRate)); got \(spec.minLearningRate)")
        }
        guard spec.warmupSteps >= 0 else { throw fail("training.warmup_steps", "must not be negative (got \(spec.warmupSteps))") }
        guard (0...1024).contains(spec.gradientAccumulation) else {
            throw fail("training.gradient_accumulation", "must be between 1 and 1024 micro-batches per step (0 is taken as 1; got \(spec.gradientAccumulation))")
        }
        let augmentation = spec.augmentation
        for (field, probability) in [("flip_probability", augmentation.flipProbability), ("rotate90_probability", augmentation.rotate90Probability)] {
            guard (0...1).contains(probability) else { throw fail("training.augmentation.\(field)", "must be a probability between 0 and 1 (got \(probability))") }
        }
        for (field, deviation) in [("intensity_scale_std", augmentation.intensityScaleStd), ("intensity_shift_std", augmentation.intensityShiftStd)] {
            guard deviation >= 0, deviation.isFinite else { throw fail("training.augmentation.\(field)", "must be a standard deviation ≥ 0 (got \(deviation))") }
        }
    }
}

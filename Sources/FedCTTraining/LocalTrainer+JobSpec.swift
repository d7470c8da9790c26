// LocalTrainer+JobSpec: a site's local trainer configured from the job's `training:` section.
public import FedCTProto
import FedCTTorch

extension LocalTrainer {
    /// The trainer `training` describes (epochs, batches, optimiser, learning-rate schedule, gradient accumulation,
    /// augmentation), with DP-SGD when given. Fields a stored spec predates take their defaults (AdamW, constant, 1).
    public init(training: Fedct_V1_TrainingSpec, dpSGD: DPSGDSettings? = nil) {
        self.init(epochs: Int(training.localEpochs), batchSize: Int(training.batchSize), learningRate: training.learningRate,
                  weightDecay: training.weightDecay, volumeSize: Int(training.volumeSize), dpSGD: dpSGD)
        optimizer = Optimizer(rawValue: training.optimizerOrDefault) ?? .adamw
        schedule = LearningRateSchedule.Kind(rawValue: training.scheduleOrDefault) ?? .constant
        minimumLearningRate = training.minLearningRate
        warmupSteps = Int(training.warmupSteps)
        gradientAccumulation = training.accumulationOrDefault
        let augment = training.augmentation
        augmentation = VolumeAugmentation(flipProbability: augment.flipProbability, rotate90Probability: augment.rotate90Probability,
                                          intensityScaleStd: augment.intensityScaleStd, intensityShiftStd: augment.intensityShiftStd)
    }
}

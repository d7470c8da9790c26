// JobPlan+Sections: the typed training, preprocessing and TTE sub-plans of a JobPlan.
import FedCTProto

/// Local training at each site.
public struct TrainingPlan: Sendable, Equatable {
    /// `adamw` (decoupled weight decay), `adam`, or `sgd` (momentum 0.9).
    public enum Optimizer: String, Sendable, CaseIterable { case adamw, adam, sgd }
    /// The learning rate's course over the job's rounds: constant, or a cosine to `minLearningRate` after `warmupSteps`.
    public enum Schedule: String, Sendable, CaseIterable { case constant, cosine }

    public var localEpochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var weightDecay: Double
    /// Voxels per side of the cubic input volume.
    public var volumeSize: Int
    public var optimizer: Optimizer
    public var schedule: Schedule
    public var minLearningRate: Double
    public var warmupSteps: Int
    /// Micro-batches whose gradients are summed before each optimiser step.
    public var gradientAccumulation: Int
    /// Random augmentation of training inputs: flip and rotation probabilities, intensity scale and shift deviations.
    public var flipProbability: Double
    public var rotate90Probability: Double
    public var intensityScaleStd: Double
    public var intensityShiftStd: Double

    init(spec: Fedct_V1_TrainingSpec, source: String) throws {
        localEpochs = Int(spec.localEpochs)
        batchSize = Int(spec.batchSize)
        learningRate = spec.learningRate
        weightDecay = spec.weightDecay
        volumeSize = Int(spec.volumeSize)
        optimizer = try JobPlan.choice("training.optimizer", spec.optimizerOrDefault, source: source)
        schedule = try JobPlan.choice("training.lr_schedule", spec.scheduleOrDefault, source: source)
        minLearningRate = spec.minLearningRate
        warmupSteps = Int(spec.warmupSteps)
        gradientAccumulation = spec.accumulationOrDefault
        flipProbability = spec.augmentation.flipProbability
        rotate90Probability = spec.augmentation.rotate90Probability
        intensityScaleStd = spec.augmentation.intensityScaleStd
        intensityShiftStd = spec.augmentation.intensityShiftStd
    }
}

/// How every site turns a decoded scan into the network input.
public struct PreprocessingPlan: Sendable, Equatable {
    /// The axis codes the voxel grid is reoriented to, or `none` to keep the stored order.
    public enum Orientation: String, Sendable, CaseIterable {
        case ras = "RAS", lps = "LPS", none
    }
    /// `window`: the HU window maps to [-1, 1]; `zscore`: then each volume is standardised.
    public enum Normalization: String, Sendable, CaseIterable { case window, zscore }

    public var orientation: Orientation
    /// Voxel spacing (x, y, z mm) after resampling, or nil to keep each scan's spacing.
    public var spacingMm: [Double]?
    public var windowLowHu: Double
    public var windowHighHu: Double
    /// Output shape (x, y, z) after centre crop or pad.
    public var shape: [Int]
    public var normalization: Normalization
    public var padHu: Double

    init(spec: Fedct_V1_JobSpec, source: String) throws {
        let preprocessing = spec.preprocessing
        orientation = try JobPlan.choice("preprocessing.orientation", preprocessing.orientation, source: source)
        spacingMm = preprocessing.spacingMm.isEmpty ? nil : preprocessing.spacingMm
        windowLowHu = preprocessing.windowLowHu
        windowHighHu = preprocessing.windowHighHu
        shape = spec.inputShape
        normalization = try JobPlan.choice("preprocessing.normalization", preprocessing.normalization, source: source)
        padHu = preprocessing.padHu
    }
}

/// The time-to-event objective: a low-rank piecewise-exponential head over the task codes.
public struct TTEPlan: Sendable, Equatable {
    /// The tasks a TTE head predicts.
    public struct Tasks: Sendable, Equatable {
        public var codes: [String]
        /// Upper edges of the time pieces, in days.
        public var pieceEdgesDays: [Double]
        /// log2 of each task's base hazard per year (empty: the head's default bias).
        public var log2BaseHazard: [Float]
    }

    /// How the setup stage derives the tasks from the sites' securely summed statistics.
    public struct Derivation: Sendable, Equatable {
        public var maxTasks: Int
        public var pieces: Int
        public var minPatientsPerCode: Int
    }

    public var rank: Int
    /// The tasks; nil while a job that derives them awaits its setup stage.
    public var tasks: Tasks?
    /// The derivation, for a job whose tasks come from its setup stage (nil for fixed tasks).
    public var derivation: Derivation?

    init(spec: Fedct_V1_TTESpec) {
        rank = Int(spec.rank)
        tasks = spec.awaitsDerivation ? nil : Tasks(codes: spec.taskCodes, pieceEdgesDays: spec.pieceEdgesDays, log2BaseHazard: spec.taskLog2BaseHazard)
        derivation = spec.deriveTasks
            ? Derivation(maxTasks: Int(spec.maxTasks), pieces: Int(spec.pieces), minPatientsPerCode: Int(spec.minPatientsPerCode)) : nil
    }

    /// The setup steps before round 1: every step of the stage while the tasks await derivation, none otherwise.
    public var setupSteps: [SetupStep] { tasks == nil ? TaskSetupStage.steps : [] }
}

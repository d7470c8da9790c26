// SiteRoundTraining: what every rank of a site does alike in a round — the site's data, the job's trainer, the round's seed.
import Crypto
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation
import Logging

/// The parts of a training round that the agent and its data-parallel workers share, so that every rank trains the same
/// way on the same examples.
enum SiteRoundTraining {
    /// Models are reused across rounds and jobs with the same encoder and objective parts.
    struct ModelKey: Hashable {
        var encoder: EncoderConfig
        var objective: ObjectiveConfig

        init(_ spec: Fedct_V1_JobSpec) throws {
            encoder = spec.encoderConfig
            objective = try PretrainingObjectives.of(spec).modelObjective(for: spec)
        }
    }

    /// The training seed of `task`'s round: the job's seed and the round, the same at every rank.
    static func seed(of task: Fedct_V1_Task) -> UInt64 { task.spec.seed &+ UInt64(task.round) &* 7919 }

    /// The job's local trainer: DP-SGD under `privacy.level: patient` (with `dpSGDSeed`, the same at every rank of a
    /// data-parallel round; nil: a fresh secret seed drawn inside the trainer), the text tower's tokenizer if any.
    static func trainer(for spec: Fedct_V1_JobSpec, dpSGDSeed: UInt64?, textEncoder: PretrainedTextEncoder?) -> LocalTrainer {
        let dpSGD = spec.privacyLevel == .patient
            ? DPSGDSettings(clipNorm: spec.privacy.clipNorm, noiseMultiplier: spec.privacy.noiseMultiplier, seed: dpSGDSeed) : nil
        var trainer = LocalTrainer(training: spec.training, dpSGD: dpSGD)
        if let textEncoder { trainer.tokenizer = .wordPiece(textEncoder.tokenizer) }
        return trainer
    }

    /// SHA-256 over the training examples' scan and patient IDs, in order: ranks that read the same data agree on it.
    static func fingerprint(_ examples: [SiteExample]) -> [UInt8] {
        var hasher = SHA256()
        for example in examples { hasher.update(data: Data("\(example.scanID)\t\(example.subjectID)\n".utf8)) }
        return Array(hasher.finalize())
    }

    /// The key under which a job's prepared data is cached: its objective's examples and the preprocessing parameters.
    static func datasetKey(for spec: Fedct_V1_JobSpec) throws -> String {
        "\(try PretrainingObjectives.of(spec).exampleKey(for: spec))|\(spec.preprocessingPipeline.parameters)"
    }

    /// The site's data prepared for a job's objective and input size (its examples track the evaluation's outcome codes
    /// too), read from `data.dir` through the preprocessing cache in `state_dir`.
    static func loadDataset(for spec: Fedct_V1_JobSpec, config: SiteConfig, logger: Logger) throws -> SiteDataset {
        let objective = try PretrainingObjectives.of(spec)
        let cache = try PreprocessingCache(directory: URL(fileURLWithPath: config.stateDirectory).appending(path: "preprocessed").path,
                                           maxBytes: config.preprocessedCacheMaxBytes, logger: logger)
        var recipe = try objective.siteExamples(for: spec)
        recipe.trackedCodes.formUnion(BinaryOutcome.trackedCodes)
        let dataset = try SiteDataset.load(directory: config.dataDirectory, recipe: recipe, preprocessing: spec.preprocessingPipeline, cache: cache)
        let cached = cache.statistics
        logger.info("data loaded", metadata: ["train": "\(dataset.train.count)", "heldout": "\(dataset.heldout.count)",
                                              "skipped_without_follow_up": "\(dataset.skippedWithoutFollowUp.count)",
                                              "preprocessed_from_cache": "\(cached.hits)", "preprocessed_from_scans": "\(cached.sourceReads)"])
        return dataset
    }
}

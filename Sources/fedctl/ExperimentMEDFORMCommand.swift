// fedctl experiment medform: MEDFORM's two stages trained five ways over seeds, scored by few-shot probes on every site's held-out scans.
import ArgumentParser
import FedCTCore
import FedCTData
import FedCTExperiment
import FedCTProto
import FedCTStorage
import FedCTTraining
import Foundation

struct ExperimentMEDFORM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medform",
        abstract: "Random init, local-only, federated (FedAvg, secure), centralised MEDFORM pretraining (stage 1, then stage 2) over seeds, scored by few-shot probes.",
        discussion: """
            Trains MEDFORM in this process, once per seed, as `experiment tte` trains its encoder: every arm (local-only \
            at each --data site, federated FedAvg and secure, centralised) first trains stage 1 (--job-spec: SimCLR on \
            slices), then stage 2 (--stage2-job-spec: attention-MIL aligned with the clinical vector) starting from that \
            arm's stage-1 slice encoder; random init is both stages untrained. The clinical standardisation is derived \
            once from every site's train rows as the setup stage's secure sums derive it, and shared by all arms. Every \
            stage-2 model's CT embeddings (attention-MIL over all slices) are scored on the pooled held-out scans and \
            each site's: few-shot logistic probes with k = 1, 5, 10 train scans per class of all sites, 5 seeded draws \
            (AUROC, balanced accuracy, F1; lung cancer within a year from the events, and with --ground-truth the chest \
            findings effusion, emphysema, nodule/mass and cardiomegaly from ground_truth.csv), and DEATH by a Cox probe; \
            95 % two-level bootstrap intervals (seeds, then patients). With --tte-job-spec a time-to-event encoder is \
            trained federated (FedAvg) per seed on the same scans and scored by the same probes; with --hlip-job-spec an \
            HLIP encoder likewise (each scan a one-scan study with its report), or --hlip-model scores one trained \
            elsewhere. Prints the checks on \
            the k = 10 lung-cancer AUROC: federated above random init, non-inferior to centralised (margin 0.03). See \
            Docs/coordinator-guide.md, "The MEDFORM experiment".
            """)

    @OptionGroup var options: ExperimentOptions
    @Option(name: .long, help: "The stage-2 job spec (medform.stage: 2, clinical_columns; its stage1_model_sha256 and clinical mean/std are set by the experiment).")
    var stage2JobSpec: String
    @Option(name: .long, help: "ground_truth.csv of the synthetic data: labels of the few-shot finding tasks.") var groundTruth: String?
    @Option(name: .long, help: "A TTE job spec (fixed tte.task_codes, the same training.volume_size): train its encoder federated per seed and score it too.") var tteJobSpec: String?
    @Option(name: .long, help: "The TTE encoder's row label.") var tteLabel = "tte-federated-fedavg"
    @Option(name: .long, help: "An HLIP job spec (byte-level text tower, the same training.volume_size): train its two towers federated per seed on the scans and their reports, and score its image embedding too.")
    var hlipJobSpec: String?
    @Option(name: .long, help: "An HLIP model (of --hlip-job-spec's architecture, e.g. from `experiment hlip` or a job) to score instead of training one.") var hlipModel: String?
    @Option(name: .long, help: "The HLIP encoder's row label.") var hlipLabel = "hlip-federated-fedavg"

    func run() throws {
        let stage1 = try options.spec()
        var stage2 = try Fedct_V1_JobSpec(contentsOf: stage2JobSpec)
        if let rounds = options.rounds { stage2.rounds = Int32(rounds) }
        guard stage1.objectiveKind == .medform, !stage1.medform.hasStage || stage1.medform.stage == 1 else {
            throw ValidationError("\(options.jobSpec): `experiment medform` needs a MEDFORM stage-1 job spec (objective: medform, medform.stage: 1) as --job-spec")
        }
        guard stage2.objectiveKind == .medform, stage2.medform.stage == 2 else {
            throw ValidationError("\(stage2JobSpec): --stage2-job-spec needs a MEDFORM stage-2 job spec (objective: medform, medform.stage: 2)")
        }
        for field in ["slice_encoder", "slice_encoder_width"] {
            let same = field == "slice_encoder" ? stage1.medform.sliceEncoder == stage2.medform.sliceEncoder : stage1.medform.sliceEncoderWidth == stage2.medform.sliceEncoderWidth
            guard same else { throw ValidationError("\(stage2JobSpec): medform.\(field) differs from \(options.jobSpec)'s; stage 2 starts from stage 1's slice encoder") }
        }
        // Each arm replaces the stage-2 model's slice encoder with its own stage-1 model; the named hash is a placeholder.
        if !stage2.medform.hasStage1ModelSha256 { stage2.medform.stage1ModelSha256 = String(repeating: "0", count: 64) }
        try ClinicalSetupDerivation.deriveLocally(into: &stage2, dataDirectories: options.data)
        try PretrainingObjectives.validate(stage1, source: options.jobSpec)
        try PretrainingObjectives.validate(stage2, source: stage2JobSpec)
        let tteSpec = try tteJobSpec.map(Fedct_V1_JobSpec.init(contentsOf:))
        if let tteSpec, let tteJobSpec, tteSpec.objectiveKind != .tte {
            throw ValidationError("\(tteJobSpec): objective is '\(tteSpec.objectiveKind.rawValue)'; --tte-job-spec needs a TTE job spec")
        }
        guard hlipModel == nil || hlipJobSpec != nil else { throw ValidationError("--hlip-model needs --hlip-job-spec (its architecture)") }
        let hlipSpec = try hlipJobSpec.map(hlipCompanionSpec)
        // One example per scan with its clinical vector (stage 2's target, ignored by stage 1) and its report (an HLIP
        // companion's text), and a TTE companion's targets.
        var recipe = try PretrainingObjectives.of(stage2).siteExamples(for: stage2)
        recipe.trackedCodes.formUnion(BinaryOutcome.trackedCodes)
        if let labeler = tteSpec?.labeler {
            recipe.trackedCodes.formUnion(labeler.taskCodes)
            let own = recipe.targets, tte = SiteDataset.timeToEventTargets(labeler)
            recipe.targets = { input, first, followUp in try own(input, first, followUp).merging(try tte(input, first, followUp)) { $1 } }
        }
        let sites = try options.sites { try SiteDataset.load(directory: $0, recipe: recipe, preprocessing: stage2.preprocessingPipeline) }
        var experiment = PretrainingExperiment(spec: stage2, sites: sites)
        try options.configure(&experiment)
        experiment.firstStage = stage1
        experiment.tasks = ExperimentTask.fewShotTasks
        experiment.checks = ExperimentChecks.medform
        experiment.groundTruth = try groundTruth.map(SyntheticGroundTruth.init(path:))
        if let tteSpec { experiment.companions.append(PretrainingExperiment.Companion(label: tteLabel, spec: tteSpec)) }
        if let hlipSpec {
            experiment.companions.append(PretrainingExperiment.Companion(label: hlipLabel, spec: hlipSpec, model: try hlipModel.map(ExperimentOptions.readModel)))
        }
        let table = try experiment.run()
        let heldout = sites.map(\.dataset.heldout.count).reduce(0, +)
        try options.report(table, title: "MEDFORM experiment table: \(sites.count) sites, \(heldout) held-out scans, \(options.seeds) seed(s); stage 1 \(stage1.rounds) rounds × \(stage1.training.localEpochs) local epochs, stage 2 \(stage2.rounds) × \(stage2.training.localEpochs); few-shot probes (k train scans per class of all sites, 5 draws) on frozen stage-2 CT embeddings")
    }

    /// --hlip-job-spec, checked: an HLIP spec whose image tower reads the experiment's scans (as one-scan studies) and,
    /// when it is trained here, a byte-level text tower (a pretrained BERT tower needs each site's vocab file).
    private func hlipCompanionSpec(_ path: String) throws -> Fedct_V1_JobSpec {
        let spec = try Fedct_V1_JobSpec(contentsOf: path)
        guard spec.objectiveKind == .hlip else {
            throw ValidationError("\(path): objective is '\(spec.objectiveKind.rawValue)'; --hlip-job-spec needs an HLIP job spec")
        }
        guard hlipModel != nil || !spec.hlip.hasTextTower || spec.hlip.textTower == "bytes" else {
            throw ValidationError("\(path): the experiment trains HLIP's byte-level text tower only; remove hlip.text_tower, or score a model trained elsewhere with --hlip-model")
        }
        try PretrainingObjectives.validate(spec, source: path)
        return spec
    }
}

// fedctl experiment hlip: HLIP trained five ways over seeds beside a TTE encoder, scored on every site's held-out studies.
import ArgumentParser
import FedCTCore
import FedCTData
import FedCTExperiment
import FedCTProto
import FedCTTraining
import Foundation

struct ExperimentHLIP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hlip",
        abstract: "Random init, local-only, federated (FedAvg, secure), centralised HLIP pretraining over seeds, beside a TTE encoder, on held-out studies.",
        discussion: """
            Trains the HLIP job spec's two towers in this process, once per seed, as `experiment tte` trains its \
            encoder (local-only at each --data site, federated FedAvg and secure, centralised), one example per study \
            with its report. Every model is scored on the pooled held-out studies and each site's: zero-shot AUROC of \
            each chest finding (effusion, emphysema, nodule/mass, cardiomegaly; the report's statement is the label, \
            the image's similarity to a present minus an absent prompt the score), AUROC of a logistic probe on the \
            frozen image embeddings (fit on all sites' train studies), report→study recall@1 and @5 within each site's \
            held-out studies, and DEATH by a Cox probe (Harrell's C, Uno's C, td-AUC, IBS); 95 % two-level bootstrap \
            intervals (seeds, then patients). With --tte-job-spec a time-to-event encoder is trained federated (FedAvg) \
            per seed on the same studies' first scans (or --tte-model is loaded) and scored by the same probes, so one \
            table compares the objectives. Prints the checks for effusion and nodule/mass: federated above chance, above \
            random init, non-inferior to centralised (margin 0.03). See Docs/coordinator-guide.md, "The HLIP experiment".
            """)

    @OptionGroup var options: ExperimentOptions
    @Option(name: .long, help: "A TTE job spec (fixed tte.task_codes, the same training.volume_size): train its encoder federated per seed and score it too.") var tteJobSpec: String?
    @Option(name: .long, help: "A TTE model (of --tte-job-spec's architecture) to score instead of training one.") var tteModel: String?
    @Option(name: .long, help: "The TTE encoder's row label.") var tteLabel = "tte-federated-fedavg"

    func run() throws {
        let spec = try options.spec()
        guard spec.objectiveKind == .hlip else {
            throw ValidationError("\(options.jobSpec): objective is '\(spec.objectiveKind.rawValue)'; `experiment hlip` needs an HLIP job spec (objective: hlip; `experiment tte` runs TTE)")
        }
        guard !spec.hlip.hasTextTower || spec.hlip.textTower == "bytes" else {
            throw ValidationError("\(options.jobSpec): the experiment trains the byte-level text tower only; remove hlip.text_tower (a pretrained BERT tower needs each site's vocab file)")
        }
        guard tteModel == nil || tteJobSpec != nil else { throw ValidationError("--tte-model needs --tte-job-spec (its architecture)") }
        let tteSpec = try tteJobSpec.map(Fedct_V1_JobSpec.init(contentsOf:))
        if let tteSpec, let tteJobSpec, tteSpec.objectiveKind != .tte {
            throw ValidationError("\(tteJobSpec): objective is '\(tteSpec.objectiveKind.rawValue)'; --tte-job-spec needs a TTE job spec")
        }
        let labeler = tteSpec.map { $0.labeler }
        // One example per study with its report; a TTE companion trains on the studies' first scans with its targets.
        let targets: ExampleTargets = if let labeler { SiteDataset.timeToEventTargets(labeler) } else { { _, _, _ in [:] } }
        let recipe = SiteExampleRecipe(trackedCodes: BinaryOutcome.trackedCodes.union(labeler.map { Set($0.taskCodes) } ?? []), unit: .study, targets: targets)
        let sites = try options.sites { try SiteDataset.load(directory: $0, recipe: recipe, preprocessing: spec.preprocessingPipeline) }
        var experiment = PretrainingExperiment(spec: spec, sites: sites)
        try options.configure(&experiment)
        experiment.tasks = ExperimentTask.languageImage
        experiment.checks = ExperimentChecks.hlip
        if let tteSpec {
            experiment.companions = [PretrainingExperiment.Companion(label: tteLabel, spec: tteSpec, model: try tteModel.map(ExperimentOptions.readModel))]
        }
        let table = try experiment.run()
        let heldout = sites.map(\.dataset.heldout.count).reduce(0, +)
        try options.report(table, title: "HLIP experiment table: \(sites.count) sites, \(heldout) held-out studies, \(options.seeds) seed(s), \(spec.rounds) rounds × \(spec.training.localEpochs) local epochs; zero-shot from prompt pairs, probes on frozen image embeddings fit on all train studies")
    }
}

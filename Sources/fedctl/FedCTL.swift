// fedctl: the consortium's admin tool — provisioning, synthetic data, jobs, model export and probe evaluation.
import ArgumentParser
import FedCTCommandLine
import FedCTReconstructionObjective
import FedCTTorch

@main
struct FedCTL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedctl",
        abstract: "Administer a FedCT consortium.",
        subcommands: [Provision.self, Synth.self, JobCommand.self, ModelCommand.self, Evaluate.self, Simulate.self, PrivacyCommand.self, AuditCommand.self, DashboardCommand.self, MetricsCommand.self, DataCommand.self, BenchTrain.self, BenchHLIP.self, BenchMEDFORM.self, ExperimentCommand.self])

    static func main() async {
        Torch.useOneMallocArena()  // before any other thread allocates (Docs/torch-bridge.md, "One malloc arena")
        ReconstructionObjective.registerIfRequested()
        await mainExitingQuickly()
    }
}

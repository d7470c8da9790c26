// fedctl model fetch (and job export): download a job's global model (any round) as a safetensors file loadable by PyTorch.
import ArgumentParser
import FedCTCore
import Foundation

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Models.", subcommands: [Fetch.self, Export.self, Init.self])

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a job's global model as safetensors.")
        @OptionGroup var model: ModelDownload

        func run() async throws { try await model.run() }
    }
}

/// The options and the download shared by `fedctl model fetch` and `fedctl job export`.
struct ModelDownload: ParsableArguments {
    @OptionGroup var admin: AdminOptions
    @Option(name: .long, help: "Job id.") var job: String
    @Option(name: .long, help: "Round (0: the initial model; default: the last committed round).") var round: Int?
    @Option(name: .long, help: "Output file (.safetensors).") var out: String
    @Flag(name: .long, help: "Print JSON (job, round, model_sha256, bytes, path).") var json = false

    /// Downloads the chosen round's model, checks its hash and writes it to `out`.
    func run() async throws {
        let client = try admin.client()
        let status = try await client.job(job)
        let chosen = round ?? status.rounds.count
        let sha: String
        if chosen == 0 {
            sha = status.initialModelSha256
        } else if let record = status.rounds.first(where: { $0.round == chosen }) {
            sha = record.modelSha256
        } else {
            throw FedCTError(.notFound, "job \(job) has no committed round \(chosen) (it has \(status.rounds.count))")
        }
        let bytes = try await client.fetchModel(sha256: sha, to: URL(fileURLWithPath: out))
        if json {
            try JSONOutput.print(["job": job, "round": chosen, "model_sha256": sha, "bytes": bytes, "path": out])
        } else {
            print("round \(chosen) model \(sha.prefix(12)) → \(out) (\(bytes) bytes)")
        }
    }
}

// fedctl job: submit, list, inspect, watch, wait for, cancel and export federated jobs; every command can print JSON.
import ArgumentParser
import FedCTCore
import FedCTProto
import FedCTStorage
import Foundation
import SwiftProtobuf

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Manage jobs.", subcommands: [Submit.self, List.self, Status.self, Watch.self, Wait.self, Cancel.self, Export.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit a job specification (YAML).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Path of job.yaml.") var spec: String
        @Flag(name: .long, help: "Print the job status as JSON.") var json = false

        func run() async throws {
            let parsed = try Fedct_V1_JobSpec(yaml: try YAMLDocument(contentsOf: spec))
            let status = try await admin.client().submit(parsed)
            if json { try JSONOutput.print(status) } else { print(status.jobID) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs.")
        @OptionGroup var admin: AdminOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let jobs = try await admin.client().list()
            if json {
                var response = Fedct_V1_ListJobsResponse()
                response.jobs = jobs
                try JSONOutput.print(response)
                return
            }
            print(TextTable.render(header: ["job", "name", "state", "round", "sites"], rows: jobs.map {
                [$0.jobID, $0.spec.name, "\($0.state)", "\($0.currentRound)/\($0.spec.rounds)", $0.connectedSites.joined(separator: ",")]
            }))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job, its committed rounds and its evaluations (per site and pooled).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let status = try await admin.client().job(job)
            if json { try JSONOutput.print(status); return }
            print(RoundTable.renderWithEvaluations(status))
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow a job until it ends, printing each committed round, then the rounds and evaluations.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Option(name: .long, help: "Give up after this many seconds.") var timeout: Double = 3600
        @Flag(name: .long, help: "Print one JSON line per committed round (its RoundRecord), then the final job status as JSON.") var json = false

        func run() async throws {
            let client = try admin.client()
            let deadline = Date().addingTimeInterval(timeout)
            var printed = 0
            while true {
                let status = try await client.job(job)
                for record in status.rounds.dropFirst(printed) {
                    if json {
                        try JSONOutput.print(record)
                    } else {
                        let loss = record.hasMeanTrainLoss ? String(format: "%.4f", record.meanTrainLoss) : "not sent (DP)"
                        print(String(format: "round %d committed: %d sites, mean train loss %@, %.1f s", record.round, record.sites.count, loss, record.seconds))
                    }
                    fflush(nil)
                }
                printed = status.rounds.count
                if json, [.succeeded, .failed, .cancelled].contains(status.state) { try JSONOutput.print(status) }
                switch status.state {
                case .succeeded:
                    if !json { print(RoundTable.renderWithEvaluations(status)) }
                    return
                case .failed, .cancelled:
                    throw FedCTError(.failedPrecondition, "job \(job) \(status.state == .failed ? "failed" : "was cancelled"): \(status.message)")
                default:
                    guard Date() < deadline else { throw FedCTError(.failedPrecondition, "job \(job) still \(status.state) after \(Int(timeout)) s") }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job (committed rounds are kept).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Flag(name: .long, help: "Print the job status as JSON.") var json = false

        func run() async throws {
            let status = try await admin.client().cancel(job)
            if json { try JSONOutput.print(status) } else { print("\(status.jobID): \(status.state) (\(status.message))") }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job's live progress (round, phase, sites, bytes, elapsed, ETA) until it ends.",
            discussion: """
                On a terminal the view is redrawn in place; otherwise one line is printed per change. With --json, one \
                JobStatus (protobuf JSON) per refresh, one per line. Exits when the job ends: 0 if it succeeded, 1 if it \
                failed, 2 if it was cancelled.
                """)
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Option(name: .long, help: "Seconds between refreshes.") var interval: Double = 1
        @Flag(name: .long, help: "Print the progress once and exit.") var once = false
        @Flag(name: .long, help: "Print each refresh as one JSON line (NDJSON).") var json = false

        func run() async throws {
            let client = try admin.client()
            let redraw = !json && !once && isatty(STDOUT_FILENO) == 1
            var lastLine = ""
            if redraw { print("\u{1B}[2J", terminator: "") }
            while true {
                let status = try await client.job(job)
                if json {
                    try JSONOutput.print(status)
                } else if redraw {
                    // Home, draw, then clear whatever an earlier, longer view left below.
                    print("\u{1B}[H" + JobProgress.render(status).replacingOccurrences(of: "\n", with: "\u{1B}[K\n") + "\u{1B}[K\u{1B}[J")
                } else if once {
                    print(JobProgress.render(status))
                } else {
                    let line = JobProgress.line(status)
                    if line != lastLine { print(line) }
                    lastLine = line
                }
                fflush(nil)
                if let code = JobProgress.exitCode(status.state) { throw ExitCode(code) }
                if once { return }
                try await Task.sleep(for: .seconds(interval))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a job's global model (any round) as safetensors, loadable by PyTorch.")
        @OptionGroup var model: ModelDownload

        func run() async throws { try await model.run() }
    }
}

// fedctl job: submit, list, inspect, wait for and report on federated jobs.
import ArgumentParser
import FedCTCore
import FedCTProto
import Foundation
import SwiftProtobuf

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Manage jobs.", subcommands: [Submit.self, List.self, Status.self, Watch.self, Wait.self, Cancel.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit a job specification (YAML).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Path of job.yaml.") var spec: String
        @Flag(name: .long, help: "Print the job status as JSON.") var json = false

        func run() async throws {
            let parsed = try Fedct_V1_JobSpec(yaml: try YAMLDocument(contentsOf: spec))
            let status = try await admin.client().submit(parsed)
            if json { print(try status.jsonString()) } else { print(status.jobID) }
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
                print(try response.jsonString())
                return
            }
            print(TextTable.render(header: ["job", "name", "state", "round", "sites"], rows: jobs.map {
                [$0.jobID, $0.spec.name, "\($0.state)", "\($0.currentRound)/\($0.spec.rounds)", $0.connectedSites.joined(separator: ",")]
            }))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job and its committed rounds.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let status = try await admin.client().job(job)
            if json { print(try status.jsonString()) } else { print(RoundTable.render(status)) }
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow a job until it ends, printing each committed round.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Option(name: .long, help: "Give up after this many seconds.") var timeout: Double = 3600

        func run() async throws {
            let client = try admin.client()
            let deadline = Date().addingTimeInterval(timeout)
            var printed = 0
            while true {
                let status = try await client.job(job)
                for record in status.rounds.dropFirst(printed) {
                    print(String(format: "round %d committed: %d sites, mean train loss %.4f, %.1f s", record.round, record.sites.count, record.meanTrainLoss, record.seconds))
                    fflush(nil)
                }
                printed = status.rounds.count
                switch status.state {
                case .succeeded:
                    print(RoundTable.render(status))
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
            if json { print(try status.jsonString()) } else { print("\(status.jobID): \(status.state) (\(status.message))") }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job's live progress (round, sites, bytes, ETA) until it ends.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "Job id.") var job: String
        @Option(name: .long, help: "Seconds between refreshes.") var interval: Double = 1
        @Flag(name: .long, help: "Print the progress once and exit.") var once = false

        func run() async throws {
            let client = try admin.client()
            let terminal = isatty(STDOUT_FILENO) == 1
            while true {
                let status = try await client.job(job)
                if terminal && !once { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                print(JobProgress.render(status))
                fflush(nil)
                if once || [.succeeded, .failed, .cancelled].contains(status.state) { return }
                try await Task.sleep(for: .seconds(interval))
            }
        }
    }
}

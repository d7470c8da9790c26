// fedctl privacy budget: a privacy reviewer's view of a site's DP budget ledger — spends per job and the total ε.
import ArgumentParser
import FedCTCore
import FedCTStorage
import Foundation

struct PrivacyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy", abstract: "Inspect a site's differential-privacy spending.", subcommands: [Budget.self])

    struct Budget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a site's privacy budget ledger (<state_dir>/privacy-budget.json): ε per job and in total, recomputed from the entries.")

        @Argument(help: "The ledger file, or the site's state_dir holding privacy-budget.json.")
        var path: String

        @Option(name: .long, help: "The δ at which ε is evaluated (use the site's privacy.delta).")
        var delta = 1e-5

        @Option(name: .long, help: "The site's budget (privacy.max_epsilon), to show what is left.")
        var maxEpsilon: Double?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            var url = URL(fileURLWithPath: path)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                url = url.appending(path: "privacy-budget.json")
            }
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ValidationError("\(url.path) does not exist: the site has recorded no differential-privacy spend (or this is not its state_dir)")
            }
            let ledger = try PrivacyBudgetLedger.open(at: url)
            var jobs: [(job: String, level: String, rounds: Int, steps: Int, epsilon: Double)] = []
            for job in ledger.entries.map(\.jobID).reduce(into: [String](), { if !$0.contains($1) { $0.append($1) } }) {
                let entries = ledger.entries.filter { $0.jobID == job }
                var accountant = RDPAccountant()
                for entry in entries { try accountant.compose(entry) }
                jobs.append((job, entries[0].level.rawValue, Set(entries.map(\.round)).count, entries.reduce(0) { $0 + $1.steps },
                             try accountant.epsilon(delta: delta).epsilon))
            }
            let (total, order) = try ledger.accountant.epsilon(delta: delta)
            if json {
                var object: [String: Any] = [
                    "ledger": url.path, "delta": delta, "epsilon_total": total, "best_order": order,
                    "jobs": jobs.map { ["job": $0.job, "level": $0.level, "rounds": $0.rounds, "steps": $0.steps, "epsilon": $0.epsilon] },
                ]
                if let maxEpsilon { object["max_epsilon"] = maxEpsilon }
                try JSONOutput.print(object)
                return
            }
            print("privacy budget ledger \(url.path), ε at δ = \(delta)")
            print(TextTable.render(header: ["job", "level", "rounds", "steps", "ε alone"],
                                   rows: jobs.map { [$0.job, $0.level, "\($0.rounds)", "\($0.steps)", String(format: "%.4g", $0.epsilon)] }))
            print(String(format: "\ntotal ε = %.4g (Rényi order %.4g; jobs compose, so the total is less than the sum)", total, order))
            if let maxEpsilon { print(String(format: "budget ε = %.4g: %.4g left", maxEpsilon, max(0, maxEpsilon - total))) }
        }
    }
}

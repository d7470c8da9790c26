// SiteStatusView: the JSON behind the site's status page — agent, preflight summary, egress ledger totals, privacy budget, policy (pure reads of the state folder).
import FedCTCore
import FedCTData
import FedCTSite
import FedCTStorage
import Foundation

/// `GET /api/status`.
struct SiteStatusView: Codable {
    struct Agent: Codable {
        var version: String
        var coordinator: String
        var activity: AgentStatus.Snapshot
    }

    struct Preflight: Codable {
        /// "running" until the first check has finished, then "done".
        var state: String
        var scans: Int?
        var trainScans: Int?
        var heldoutScans: Int?
        var usableTrainScans: Int?
        var usableHeldoutScans: Int?
        var subjects: Int?
        var eventRows: Int?
        var blocking: Int?
        var warnings: Int?
        /// The first problems (file:line: message).
        var problems: [String]
    }

    struct Egress: Codable {
        struct Total: Codable, Equatable {
            var kind: String
            var messages: Int
            var bytes: Int
        }

        var ledger: String
        var messages: Int
        var bytes: Int
        var totals: [Total]
        /// Newest first.
        var latest: [EgressRecord]
    }

    struct Privacy: Codable {
        struct Job: Codable, Equatable {
            var job: String
            var level: String
            var rounds: Int
            var epsilon: Double
        }

        var ledger: String
        var delta: Double
        var jobs: [Job]
        var totalEpsilon: Double
        var maxEpsilon: Double?
        var remainingEpsilon: Double?
        /// Set when the ledger cannot be read.
        var problem: String?
    }

    var agent: Agent
    var preflight: Preflight
    var egress: Egress
    var privacy: Privacy
    /// (setting, value) pairs of the policy in force.
    var policy: [[String]]
}

extension SiteStatusView.Preflight {
    static let running = Self(state: "running", problems: [])

    init(_ report: PreflightReport) {
        state = "done"
        scans = report.scans
        trainScans = report.trainScans
        heldoutScans = report.heldoutScans
        usableTrainScans = report.usableTrainScans
        usableHeldoutScans = report.usableHeldoutScans
        subjects = report.subjects
        eventRows = report.eventRows
        blocking = report.problems.filter { $0.severity == .blocking }.count
        warnings = report.problems.filter { $0.severity == .warning }.count
        problems = report.problems.prefix(20).map { "\($0.severity.rawValue): \($0)" }
    }
}

extension SiteStatusView.Egress {
    /// Reads `<state>/egress.jsonl`: totals per kind over every line, and the `latest` newest lines.
    init(ledger url: URL, latest count: Int = 25) {
        ledger = url.path
        var totals: [String: Total] = [:]
        var recent: [EgressRecord] = []
        var messages = 0, bytes = 0
        let decoder = JSONDecoder()
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            guard let record = try? decoder.decode(EgressRecord.self, from: Data(line.utf8)) else { continue }
            totals[record.kind, default: Total(kind: record.kind, messages: 0, bytes: 0)].messages += 1
            totals[record.kind]!.bytes += record.bytes
            messages += 1
            bytes += record.bytes
            recent.append(record)
            if recent.count > count { recent.removeFirst() }
        }
        self.messages = messages
        self.bytes = bytes
        self.totals = totals.values.sorted { $0.kind < $1.kind }
        self.latest = recent.reversed()
    }
}

extension SiteStatusView.Privacy {
    /// Reads `<state>/privacy-budget.json` (absent: nothing spent) and evaluates ε per job and in total at `delta`.
    init(ledger url: URL, delta: Double, maxEpsilon: Double?) {
        ledger = url.path
        self.delta = delta
        self.maxEpsilon = maxEpsilon
        jobs = []
        totalEpsilon = 0
        guard FileManager.default.fileExists(atPath: url.path) else {
            remainingEpsilon = maxEpsilon
            return
        }
        do {
            let book = try PrivacyBudgetLedger.open(at: url)
            var order: [String] = []
            for entry in book.entries where !order.contains(entry.jobID) { order.append(entry.jobID) }
            for job in order {
                let entries = book.entries.filter { $0.jobID == job }
                var accountant = RDPAccountant()
                for entry in entries { try accountant.compose(entry) }
                jobs.append(Job(job: job, level: entries[0].level.rawValue, rounds: Set(entries.map(\.round)).count,
                                epsilon: try accountant.epsilon(delta: delta).epsilon))
            }
            totalEpsilon = try book.spent(delta: delta)
        } catch {
            problem = "\(error)"
        }
        remainingEpsilon = maxEpsilon.map { max(0, $0 - totalEpsilon) }
    }
}

extension SiteStatusView {
    /// The policy rows of `config`.
    static func policy(_ config: SiteConfig) -> [[String]] {
        [
            ["require secure aggregation", config.requireSecureAggregation ? "yes" : "no"],
            ["privacy budget (max ε)", config.maxEpsilon.map { String($0) } ?? "none (jobs without differential privacy allowed)"],
            ["privacy δ", String(config.privacyDelta)],
            ["minimum evaluation cohort", config.minCohort.map { String($0) } ?? "the job's"],
            ["archive sent updates", config.archiveUpdates ? "yes (\(config.stateDirectory)/egress-archive)" : "no"],
            ["data folder", config.dataDirectory],
            ["training threads", String(config.threads)],
            ["largest message", "\(config.maxMessageBytes >> 20) MiB"],
        ]
    }
}

// PrivacyBudgetLedger: a site's persistent record of the differential privacy it has spent across jobs, and the check against its budget.
import Foundation

/// One accounted release of noised results: `steps` Gaussian-mechanism steps of one round of one job.
public struct PrivacySpend: Sendable, Codable, Equatable {
    /// Whose privacy the noise protects.
    public enum Level: String, Sendable, Codable {
        /// The whole site's contribution (clipped update plus Gaussian noise on the aggregate).
        case site
        /// Each patient (DP-SGD: per-sample clipping and noise at every local step).
        case patient
    }

    /// The job that spent it.
    public var jobID: String
    /// The round of that job.
    public var round: Int
    /// Site-level or patient-level DP.
    public var level: Level
    /// The Poisson sampling rate q: 1 for site-level DP when every site takes part, batch size / number of patients for DP-SGD.
    public var samplingRate: Double
    /// The noise multiplier σ: noise standard deviation over the clip norm.
    public var noiseMultiplier: Double
    /// The number of noised steps in this round (1 for site-level DP; local DP-SGD steps for patient-level).
    public var steps: Int
    /// The δ the job declared (informational: the site's budget is evaluated at its own δ).
    public var delta: Double
    /// When it was spent, to the second.
    public var time: Date

    /// A spend; `time` is kept to the whole second, as the ledger file stores it.
    public init(jobID: String, round: Int, level: Level, samplingRate: Double, noiseMultiplier: Double,
                steps: Int, delta: Double, time: Date = Date()) {
        self.jobID = jobID
        self.round = round
        self.level = level
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.steps = steps
        self.delta = delta
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
    }

    private enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case round, level
        case samplingRate = "sampling_rate"
        case noiseMultiplier = "noise_multiplier"
        case steps, delta, time
    }
}

/// A site's privacy budget across jobs: every spend so far and their composed Rényi DP, kept in one
/// JSON file (for example `<state_dir>/privacy-budget.json`).
///
/// The value is the state; FedCTStorage's `open(at:)` loads it and `record(_:)` writes the file atomically
/// (temporary file, fsync, rename, fsync of the folder) before it changes the value. One process, the
/// site agent, owns the file. A file that cannot be read or does not add up is an error, never a
/// reason to start from zero: deleting it would silently reset the site's budget.
public struct PrivacyBudgetLedger: Sendable, Equatable {
    /// The identifier written in the file's `format` field.
    public static let format = "fedct-privacy-budget/1"

    /// The ledger file.
    public let url: URL
    /// Every spend recorded, oldest first.
    public private(set) var entries: [PrivacySpend]
    /// The composed RDP of all ``entries``.
    public private(set) var accountant: RDPAccountant

    /// An empty ledger for the file at `url`: nothing spent yet (FedCTStorage's `open(at:)` when there is no file).
    public init(emptyAt url: URL) {
        self.init(url: url, entries: [], accountant: RDPAccountant())
    }

    /// The ledger stored in `contents`, the bytes of the file at `url` (which names it in errors). A document that is
    /// not a ledger, has another format, or whose totals are not the composition of its entries is refused.
    public init(contents data: Data, of url: URL) throws {
        let file: LedgerFile
        do {
            file = try Self.decoder.decode(LedgerFile.self, from: data)
        } catch {
            throw Self.corrupt(url, "it is not a valid ledger (\(ErrorText.describe(error)))")
        }
        guard file.format == Self.format else {
            throw Self.corrupt(url, "its format is \"\(file.format)\", this agent reads \"\(Self.format)\"")
        }
        // The stored totals must be the composition of the stored entries: a hand-edited or truncated
        // file would otherwise under-count what was spent.
        var recomputed = RDPAccountant(orders: file.accountant.orders)
        do {
            for entry in file.entries { try recomputed.compose(entry) }
        } catch let error as FedCTError {
            throw Self.corrupt(url, "an entry is invalid: \(error.message)")
        }
        guard Self.agree(recomputed.rdp, file.accountant.rdp) else {
            throw Self.corrupt(url, "its RDP totals do not match its entries (\(file.entries.count) listed)")
        }
        self.init(url: url, entries: file.entries, accountant: file.accountant)
    }

    /// The ε spent so far at `delta` (0 for an empty ledger, +∞ if any spend had no noise).
    public func spent(delta: Double) throws -> Double {
        try accountant.epsilon(delta: delta).epsilon
    }

    /// Throws ``FedCTError/Code/permissionDenied`` if spending `planned` on top of what is recorded
    /// would take the site's ε at `delta` above `limitEpsilon` (site.yaml `privacy.max_epsilon`).
    public func check(planned: [PrivacySpend], limitEpsilon: Double, delta: Double) throws {
        guard !limitEpsilon.isNaN, limitEpsilon > 0 else {
            throw FedCTError(.invalidConfiguration, "privacy.max_epsilon = \(limitEpsilon) is not a positive number; set it in site.yaml (e.g. 8)")
        }
        let already = try spent(delta: delta)
        var total = accountant
        var alone = RDPAccountant(orders: accountant.orders)
        for spend in planned {
            try total.compose(spend)
            try alone.compose(spend)
        }
        let totalEpsilon = try total.epsilon(delta: delta).epsilon
        guard totalEpsilon > limitEpsilon else { return }
        let aloneEpsilon = try alone.epsilon(delta: delta).epsilon
        let jobs = planned.map(\.jobID).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let priorJobs = Set(entries.map(\.jobID)).count
        throw FedCTError(.permissionDenied, """
            privacy budget exceeded: this site allows ε = \(Self.show(limitEpsilon)) at δ = \(delta) \
            (privacy.max_epsilon in site.yaml) and has already spent ε = \(Self.show(already)) over \(priorJobs) job(s); \
            \(jobs.isEmpty ? "the plan" : "job " + jobs.joined(separator: ", ")) would spend ε = \(Self.show(aloneEpsilon)) on its own \
            and bring the total to ε = \(Self.show(totalEpsilon)). Decline the job, ask for more noise \
            (privacy.noise_multiplier) or fewer rounds, or raise privacy.max_epsilon in site.yaml if your data governance allows it
            """)
    }

    /// The ledger with `spends` added, and the file contents that record it; this value is unchanged. FedCTStorage's
    /// `record(_:)` writes the contents and only then takes the new value.
    public func adding(_ spends: [PrivacySpend]) throws -> (ledger: PrivacyBudgetLedger, contents: Data) {
        var next = accountant
        for spend in spends { try next.compose(spend) }
        let nextEntries = entries + spends
        let data: Data
        do {
            data = try Self.encoder.encode(LedgerFile(format: Self.format, accountant: next, entries: nextEntries))
        } catch {
            throw FedCTError(.invalidData, "cannot encode the privacy budget ledger \(url.path): \(error)")
        }
        return (PrivacyBudgetLedger(url: url, entries: nextEntries, accountant: next), data)
    }

    private init(url: URL, entries: [PrivacySpend], accountant: RDPAccountant) {
        self.url = url
        self.entries = entries
        self.accountant = accountant
    }
}

// MARK: - File

extension PrivacyBudgetLedger {
    /// The JSON document: format, totals, entries.
    private struct LedgerFile: Codable {
        var format: String
        var accountant: RDPAccountant
        var entries: [PrivacySpend]
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // No-noise spends make RDP infinite; JSON has no number for that.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    private static func corrupt(_ url: URL, _ reason: String) -> FedCTError {
        FedCTError(.invalidData, "the privacy budget ledger \(url.path) is corrupt: \(reason). Restore it from backup before running jobs; do not delete it, that would reset the site's privacy budget")
    }

    /// Equal up to rounding (the same entries composed by another build may differ in the last bits).
    private static func agree(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x == y || abs(x - y) <= 1e-9 * max(abs(x), abs(y))
        }
    }

    /// Formats an ε for messages.
    private static func show(_ epsilon: Double) -> String {
        epsilon.isInfinite ? "∞ (no noise)" : String(format: "%.3f", epsilon)
    }
}

extension RDPAccountant {
    /// Composes one ledger entry.
    public mutating func compose(_ spend: PrivacySpend) throws {
        try compose(samplingRate: spend.samplingRate, noiseMultiplier: spend.noiseMultiplier, steps: spend.steps)
    }
}

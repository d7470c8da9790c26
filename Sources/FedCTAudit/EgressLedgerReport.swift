// EgressLedgerReport: what left a site, per job and round, as a reviewer reads it — built from a verified ledger, rendered as text, JSON or HTML.
import FedCTCore
import FedCTProto
import Foundation

/// The summary `fedctl audit report` prints: verification result, policy, ε, and per job and round what was sent.
public struct EgressLedgerReport: Codable, Sendable {
    /// One kind of message within a job and round.
    public struct KindSummary: Codable, Sendable {
        public var kind: String
        public var calls: Int
        public var sent: Int
        public var failed: Int
        public var bytes: Int
        public var receipts: Int
        /// The first 12 hex digits of each distinct request hash.
        public var hashes: [String]
        /// What the archived small messages said (candidate names, metrics, update headers, …).
        public var contents: [String]
    }

    /// All messages of one job and round (job "—" for job-agnostic calls: join, pull-task, fetch-model).
    public struct RoundSummary: Codable, Sendable {
        public var job: String
        public var round: Int?
        public var kinds: [KindSummary]
        /// The privacy spends recorded for this job and round (before what they pay for left), one line each.
        public var spends: [String]
    }

    /// ε spent by one job (site's δ), recomputed from the ledger's spend entries.
    public struct JobEpsilon: Codable, Sendable {
        public var job: String
        /// The spends' levels, joined by "+", and how many were noised setup steps (round 0 or below) when any were.
        public var level: String
        public var spends: Int
        public var epsilon: Double
    }

    public var site: String?
    public var valid: Bool
    public var problem: String?
    public var entries: Int
    public var firstTime: String?
    public var lastTime: String?
    public var receiptsVerified: Int
    public var warnings: [String]
    /// The policy in force (the last `open` entry).
    public var policy: [String: String]
    public var declines: [String]
    public var rounds: [RoundSummary]
    public var delta: Double
    public var jobEpsilon: [JobEpsilon]
    public var totalEpsilon: Double
    /// Archived masked payloads tested for uniformity: entry → χ².
    public var uniformity: [String]

    /// Summarises `audit`; `archive` reads archived messages (by path relative to the ledger folder) to show their content.
    public init(audit: EgressLedgerAudit, archive: (String) -> [UInt8]?) throws {
        site = audit.site
        valid = audit.isValid
        problem = audit.failure?.description
        entries = audit.entries.count
        firstTime = audit.entries.first?.time
        lastTime = audit.entries.last?.time
        receiptsVerified = audit.receiptsVerified
        warnings = audit.warnings.map(\.description)
        policy = audit.entries.last { $0.type == .open }?.policy ?? [:]
        declines = audit.entries.filter { $0.type == .decline }.map {
            "entry \($0.seq): job \($0.jobID ?? "?") declined — \($0.reason ?? "") (\($0.setting ?? ""))"
        }
        delta = Double(policy["delta"] ?? "") ?? 1e-5
        var outcomes: [Int: String] = [:]
        var receipted = Set<Int>()
        for entry in audit.entries {
            if entry.type == .outcome, let of = entry.of { outcomes[of] = entry.status }
            if entry.type == .receipt, entry.warning == nil, let of = entry.of { receipted.insert(of) }
        }
        var order: [String] = []
        var groups: [String: (job: String, round: Int?, kinds: [String: KindSummary], kindOrder: [String], spends: [String])] = [:]
        for entry in audit.entries where entry.type == .intent || entry.type == .spend {
            let job = entry.jobID ?? "—"
            let key = "\(job)|\(entry.round.map(String.init) ?? "")"
            if groups[key] == nil {
                order.append(key)
                groups[key] = (job, entry.jobID == nil ? nil : entry.round, [:], [], [])
            }
            if let spend = entry.spend {
                groups[key]!.spends.append(String(format: "entry %d: %@ level, σ = %g, q = %g, %d step(s)", entry.seq, spend.level.rawValue,
                                                  spend.noiseMultiplier, spend.samplingRate, spend.steps))
                continue
            }
            let kind = entry.kind ?? "?"
            var summary = groups[key]!.kinds[kind] ?? KindSummary(kind: kind, calls: 0, sent: 0, failed: 0, bytes: 0, receipts: 0, hashes: [], contents: [])
            if groups[key]!.kinds[kind] == nil { groups[key]!.kindOrder.append(kind) }
            summary.calls += 1
            summary.bytes += entry.bytes ?? 0
            if outcomes[entry.seq] == "sent" { summary.sent += 1 }
            if outcomes[entry.seq] == "failed" { summary.failed += 1 }
            if receipted.contains(entry.seq) { summary.receipts += 1 }
            let hash = String((entry.sha256 ?? "").prefix(12))
            if !summary.hashes.contains(hash) { summary.hashes.append(hash) }
            if let content = Self.content(of: entry, archive: archive), !summary.contents.contains(content) { summary.contents.append(content) }
            groups[key]!.kinds[kind] = summary
        }
        rounds = order.map { key in
            let group = groups[key]!
            return RoundSummary(job: group.job, round: group.round, kinds: group.kindOrder.map { group.kinds[$0]! }, spends: group.spends)
        }
        let spends = audit.entries.compactMap(\.spend)
        var total = RDPAccountant()
        var perJob: [JobEpsilon] = []
        for job in spends.map(\.jobID).reduce(into: [String](), { if !$0.contains($1) { $0.append($1) } }) {
            var accountant = RDPAccountant()
            let mine = spends.filter { $0.jobID == job }
            for spend in mine { try accountant.compose(spend) }
            // A job may spend at two levels: noised setup counts (patient, rounds ≤ 0) before site-level training rounds.
            let setup = mine.filter { $0.round <= 0 }.count
            let levels = mine.map(\.level.rawValue).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.joined(separator: "+")
            perJob.append(JobEpsilon(job: job, level: setup > 0 ? "\(levels), \(setup) setup" : levels, spends: mine.count,
                                     epsilon: try accountant.epsilon(delta: delta).epsilon))
        }
        for spend in spends { try total.compose(spend) }
        jobEpsilon = perJob
        totalEpsilon = spends.isEmpty ? 0 : try total.epsilon(delta: delta).epsilon
        uniformity = audit.uniformity.sorted { $0.key < $1.key }.map {
            String(format: "entry %d: χ² = %.1f over %d bytes (threshold %.1f) — %@", $0.key, $0.value.statistic, $0.value.count,
                   ByteUniformity.threshold, $0.value.looksUniform ? "uniform" : "NOT uniform")
        }
    }

    /// A one-line reading of an archived small message.
    /// ", noised at σ = …" or ", exact" for a counting step's submission.
    static func noise(_ submission: Fedct_V1_SetupSubmission) -> String {
        submission.noiseMultiplier > 0 ? String(format: ", noised at σ = %g", submission.noiseMultiplier) : ", exact"
    }

    static func content(of entry: EgressEntry, archive: (String) -> [UInt8]?) -> String? {
        if let path = entry.headerArchive, let bytes = archive(path), let header = try? Fedct_V1_UpdateHeader(serializedBytes: bytes) {
            guard !header.hasMasked else {
                let loss = header.masked.lossScale > 0 ? "inside the masked sum" : "not sent"
                return String(format: "header: %lld masked words, mean train loss %@, base model %@ (example weight inside the masked words, no local steps)",
                              header.coordinateCount, loss, String(header.baseModelSha256.prefix(12)))
            }
            return String(format: "header: %lld coordinates, example count %lld, mean train loss %.4f, local steps %d, base model %@",
                          header.coordinateCount, header.exampleCount, header.meanTrainLoss, header.localSteps, String(header.baseModelSha256.prefix(12)))
        }
        guard let path = entry.archive, !EgressEntry.updateKinds.contains(entry.kind ?? ""), let bytes = archive(path) else { return nil }
        switch entry.kind {
        case "join":
            guard let join = try? Fedct_V1_JoinRequest(serializedBytes: bytes) else { return nil }
            let counts = join.trainScans == 0 && join.heldoutScans == 0 ? "no scan counts" : "train scans \(join.trainScans), held-out scans \(join.heldoutScans) (sent by an older agent)"
            return "agent \(join.agentVersion), \(join.threads) threads, \(counts)"
        case "setup-candidates":
            guard let submission = try? Fedct_V1_SetupSubmission(serializedBytes: bytes) else { return nil }
            let signed = submission.candidates.signature.isEmpty ? "unsigned" : "signed"
            return "\(submission.candidates.codes.count) candidate codes (\(signed)): \(submission.candidates.codes.prefix(12).joined(separator: ", "))\(submission.candidates.codes.count > 12 ? ", …" : "")"
        case "setup-counts":
            guard let submission = try? Fedct_V1_SetupSubmission(serializedBytes: bytes) else { return nil }
            return "\(submission.counts.values.count) plain counts\(Self.noise(submission)): \(submission.counts.values.prefix(12).map(String.init).joined(separator: ", "))"
        case "setup-masked":
            guard let submission = try? Fedct_V1_SetupSubmission(serializedBytes: bytes) else { return nil }
            return "\(submission.maskedWords.count / 4) masked words\(Self.noise(submission))"
        case "metrics":
            guard let report = try? Fedct_V1_MetricsReport(serializedBytes: bytes) else { return nil }
            let metrics = report.metrics.sorted { $0.key < $1.key }.map { name, value in
                String(format: "%@ = %.3f (n %lld, positives %lld)", name, value, report.counts[name]?.scans ?? 0, report.counts[name]?.positives ?? 0)
            }
            return "metrics: \(metrics.joined(separator: "; "))\(report.suppressed.isEmpty ? "" : "; suppressed: \(report.suppressed.joined(separator: ", "))"); cohort \(report.cohortSize)"
        case "decline":
            guard let decline = try? Fedct_V1_DeclineRequest(serializedBytes: bytes) else { return nil }
            return "declined: \(decline.reason) (\(decline.setting))"
        default:
            return nil
        }
    }
}

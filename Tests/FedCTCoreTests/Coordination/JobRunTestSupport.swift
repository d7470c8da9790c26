// JobRunTestSupport: specs, sites and a small setup stage for driving a JobRun as the coordinator would, without sockets.
import Crypto
@testable import FedCTCore
import FedCTProto
import Foundation
import Logging
import XCTest

/// A job run under test and the sites that talk to it.
struct JobRunHarness {
    var run: JobRun
    let keys: [String: P256.Signing.PrivateKey]
    /// Every directive the run returned, in order.
    var directives: [JobRun.Directive] = []

    static let model = String(repeating: "a", count: 64)

    /// A job spec: `rounds` rounds with `minSites` sites, deadline `deadline` s, secure aggregation and evaluation as asked.
    static func spec(rounds: Int = 2, minSites: Int = 2, deadline: Int = 100, secure: Bool = false, minCohort: Int = 2,
                     stepTimeout: Int = 10, evaluate: Bool = false) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec()
        spec.name = "unit"
        spec.rounds = Int32(rounds)
        spec.minSites = Int32(minSites)
        spec.roundDeadlineSeconds = Int32(deadline)
        spec.secureAggregation.enabled = secure
        spec.secureAggregation.minCohort = Int32(minCohort)
        spec.secureAggregation.stepTimeoutSeconds = Int32(stepTimeout)
        spec.evaluation.enabled = evaluate
        spec.evaluation.minCohort = 1
        return spec.applyingDefaults()
    }

    /// A run of a job in state `state` with `spec`, its initial model `model` and `rounds` committed rounds.
    init(spec: Fedct_V1_JobSpec, state: Fedct_V1_JobStatus.State = .waitingForSites, committedRounds: Int = 0,
         initialModel: String = JobRunHarness.model, derivation: (any SetupDerivation)? = nil, sites: [String] = ["a", "b", "c"]) {
        var record = Fedct_V1_JobStatus()
        record.jobID = "job-0001"
        record.spec = spec
        record.state = state
        record.initialModelSha256 = initialModel
        for round in 0..<committedRounds {
            var entry = Fedct_V1_RoundRecord()
            entry.round = Int32(round + 1)
            entry.modelSha256 = String(repeating: "\(round + 1)", count: 64)
            record.rounds.append(entry)
        }
        run = JobRun(record: record, derivation: derivation, logger: Logger(label: "test"), retryDelay: 5)
        keys = Dictionary(uniqueKeysWithValues: sites.map { ($0, P256.Signing.PrivateKey()) })
    }

    /// Records and returns `directives`.
    @discardableResult
    mutating func take(_ new: [JobRun.Directive]) -> [JobRun.Directive] {
        directives += new
        return new
    }

    /// Every site in `sites` asks for work at `now`; returns their assignments.
    @discardableResult
    mutating func pull(_ sites: [String], now: Double) -> [String: JobRun.Assignment] {
        var assignments: [String: JobRun.Assignment] = [:]
        for site in sites {
            let (assignment, directives) = run.taskRequested(by: site, now: now)
            take(directives)
            assignments[site] = assignment
        }
        return assignments
    }

    /// `site`'s plain update for `round`, spooled at a made-up path.
    mutating func uploadPlain(_ site: String, round: Int, examples: Int64 = 10, loss: Double = 1, now: Double) throws {
        var header = Fedct_V1_UpdateHeader()
        header.jobID = run.jobID
        header.round = Int32(round)
        header.baseModelSha256 = run.machine.globalModelSHA256
        header.coordinateCount = 4
        header.exampleCount = examples
        header.meanTrainLoss = loss
        header.payloadSha256 = String(repeating: "f", count: 64)
        let kind = try run.checkUpload(from: site, header: header) { 4 }
        XCTAssertEqual(kind, .plain(coordinates: 4))
        take(try run.onUploadAccepted(from: site, header: header, spooledPath: "/spool/\(site)-\(round).f32", now: now))
    }

    // MARK: Secure aggregation

    var certificates: [String: String] { keys.mapValues { $0.publicKey.pemRepresentation } }

    var verify: SecAggSiteSession.Verifier {
        let certificates = certificates
        return { certificate, site, message, signature in
            guard certificates[site] == certificate, let key = try? P256.Signing.PublicKey(pemRepresentation: certificate),
                  let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature), key.isValidSignature(parsed, for: message)
            else { throw FedCTError(.permissionDenied, "\(site)'s key advertisement is not signed by its certificate key") }
        }
    }

    func stepRequest() -> Fedct_V1_SecAggStepRequest {
        var request = Fedct_V1_SecAggStepRequest()
        request.jobID = run.jobID
        request.round = Int32(run.secure!.server.context.round)
        request.attempt = Int32(run.secure!.server.context.attempt)
        return request
    }

    /// The sites' sessions of the open secure round, each having advertised its keys at `now` (all of `sites`).
    mutating func advertise(_ sites: [String], now: Double) throws -> [String: SecAggSiteSession] {
        let context = run.secure!.server.context
        var sessions: [String: SecAggSiteSession] = [:]
        for site in sites {
            let session = SecAggSiteSession(context: context, site: site)
            let key = keys[site]!
            let advertisement = try session.advertisement { Array(try key.signature(for: $0).derRepresentation) }
            take(try run.onKeyAdvertisement(advertisement, from: site, certificatePEM: certificates[site]!, now: now, verify: verify))
            sessions[site] = session
        }
        return sessions
    }

    /// `sites` send their sealed shares at `now`.
    mutating func share(_ sites: [String], sessions: inout [String: SecAggSiteSession], now: Double) throws {
        for site in sites {
            let step = run.secureStep(for: site, stepRequest())
            XCTAssertEqual(step.step, .shareKeys, site)
            var request = Fedct_V1_ShareKeysRequest()
            request.jobID = run.jobID
            request.round = Int32(run.secure!.server.context.round)
            request.attempt = Int32(run.secure!.server.context.attempt)
            request.shares = try sessions[site]!.shareKeys(advertisements: step.advertisements, threshold: Int(step.threshold),
                                                           parameters: run.record.spec.secureParameters, verify: verify)
            take(try run.onShares(request, from: site, now: now))
        }
    }

    /// `sites` upload their masked updates (`updates[site]`, weight `weights[site]`, training loss `losses[site]` or 2)
    /// at `now`, each added to the sum the run lends (`takeMaskedSum`) as the coordinator does.
    mutating func mask(_ sites: [String], sessions: inout [String: SecAggSiteSession], updates: [String: [Float]], weights: [String: Int64],
                       losses: [String: Double] = [:], now: Double) throws {
        for site in sites {
            let (header, words) = try maskedInput(site, sessions: &sessions, update: updates[site]!, weight: weights[site]!, loss: losses[site] ?? 2)
            var sum = try run.takeMaskedSum(for: site, header: header)
            try sum.begin(site: site)
            try words.withUnsafeBytes { try sum.add(littleEndianWords: $0) }
            try sum.end()
            take(try run.onMaskedInputSummed(sum, from: site, header: header, now: now))
        }
    }

    /// `site`'s masked update for the open secure round: its checked header and its words.
    mutating func maskedInput(_ site: String, sessions: inout [String: SecAggSiteSession], update: [Float], weight: Int64, loss: Double = 2) throws
        -> (Fedct_V1_UpdateHeader, [UInt32]) {
        let step = run.secureStep(for: site, stepRequest())
        XCTAssertEqual(step.step, .maskedInput, site)
        let server = run.secure!.server
        let encoding = try run.record.spec.secureEncoding(keyHolders: server.keyHolders.count, threshold: server.threshold)
        var words = try encoding.encode(update, weight: weight, loss: encoding.carriesLoss ? loss : nil)
        try sessions[site]!.mask(&words, shareSenders: step.shareSenders, inbound: step.inboundShares)
        var header = Fedct_V1_UpdateHeader()
        header.jobID = run.jobID
        header.round = Int32(server.context.round)
        header.baseModelSha256 = run.machine.globalModelSHA256
        header.coordinateCount = Int64(words.count)
        header.masked.attempt = Int32(server.context.attempt)
        header.masked.modulusBits = 32
        header.masked.scale = encoding.scale
        header.masked.lossScale = encoding.carriesLoss ? encoding.lossScale : 0
        let kind = try run.checkUpload(from: site, header: header) { update.count }
        XCTAssertEqual(kind, .masked(words: words.count))
        return (header, words)
    }

    /// `sites` reveal their unmasking shares at `now`.
    mutating func unmask(_ sites: [String], sessions: inout [String: SecAggSiteSession], now: Double) throws {
        for site in sites {
            let step = run.secureStep(for: site, stepRequest())
            XCTAssertEqual(step.step, .unmask, site)
            var request = Fedct_V1_UnmaskRequest()
            request.jobID = run.jobID
            request.round = Int32(run.secure!.server.context.round)
            request.attempt = Int32(run.secure!.server.context.attempt)
            request.shares = try sessions[site]!.unmask(survivors: step.survivors)
            take(try run.onUnmask(request, from: site, now: now))
        }
    }
}

extension [JobRun.Directive] {
    /// The round-model requests among the directives.
    var roundModelRequests: [RoundModelRequest] {
        compactMap { if case .storeRoundModel(let request) = $0 { request } else { nil } }
    }

    /// The records the directives ask to save, with their versions.
    var savedRecords: [(record: Fedct_V1_JobStatus, version: Int)] {
        compactMap { if case .saveRecord(let record, let version) = $0 { (record, version) } else { nil } }
    }

    /// The end states the directives report as stored.
    var endedJobs: [Fedct_V1_JobStatus.State] {
        compactMap { if case .jobEnded(let record) = $0 { record.state } else { nil } }
    }

    /// The spool files the directives delete.
    var deletedSpools: [String] {
        flatMap { directive -> [String] in
            if case .deleteSpools(let paths) = directive { return paths }
            return []
        }
    }

    /// The initial-model specs the directives ask to build and store.
    var initialModelSpecs: [Fedct_V1_JobSpec] {
        compactMap { if case .storeInitialModel(let spec) = $0 { spec } else { nil } }
    }
}

/// A two-step setup stage (names, then counts over the pooled names) standing in for an objective's derivation.
struct PooledNamesDerivation: SetupDerivation {
    let steps = [SetupStep(index: 0, name: "names", answer: .names), SetupStep(index: 1, name: "counts", answer: .counts)]
    var names: [String] = []
    var totals: [UInt64] = []

    func request(for step: SetupStep) -> SetupRequest { step.answer == .names ? SetupRequest() : SetupRequest(names: names) }

    func valueCount(for step: SetupStep) -> Int { names.count }

    func checkNames(_ names: [String], from site: String) throws {
        if names.contains("") { throw FedCTError(.invalidData, "\(site) proposed an empty name") }
    }

    mutating func combine(_ step: SetupStep, names: [[String]], sum: [UInt64]?) throws {
        if step.answer == .names {
            self.names = Set(names.joined()).sorted()
            guard !self.names.isEmpty else { throw FedCTError(.invalidData, "no site proposed a name") }
        } else {
            totals = sum ?? []
        }
    }

    func derive(into spec: inout Fedct_V1_JobSpec, record: inout Fedct_V1_SetupRecord) throws {
        spec.name = "derived from \(zip(names, totals).map { "\($0)=\($1)" }.joined(separator: ","))"
    }
}

/// A failed write of the kind a full disk gives.
let diskFull = FedCTError(.io, "cannot write /state/blobs/x.safetensors: No space left on device (disk full?); nothing was replaced")

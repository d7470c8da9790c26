// Coordinator: the coordinator's shell — job records, the queue, and the running job's `JobRun` driven by the RPC layer.
public import FedCTAdmin
import FedCTCore
public import FedCTProto
import FedCTIdentity
import FedCTTraining
import Foundation
public import Logging

/// Writes job records durably (the job database; tests put a failing one in front of it).
protocol JobRecordWriter: Sendable {
    func save(_ status: Fedct_V1_JobStatus) throws
}

extension JobDatabase: JobRecordWriter {}

/// Reads and writes model blobs (the model store; tests put a failing one in front of it).
protocol ModelBlobs: Sendable {
    func get(_ sha256: String) throws -> [UInt8]
    func put(_ bytes: [UInt8]) throws -> String
    func reader(_ sha256: String) throws -> ModelBlobReader
    func writer() throws -> ModelBlobWriter
}

extension ModelStore: ModelBlobs {}

/// Runs federated jobs one at a time: hands out tasks, receives updates, aggregates and commits rounds.
///
/// The running job is a `JobRun` value that decides everything about its rounds; this actor feeds it the RPC layer's
/// calls and the clock, and carries out the directives it returns (`Coordinator+Directives`): blocking work — model
/// building, aggregation, blob and SQLite writes — runs on one serial storage queue off the actor, and each result goes
/// back to the run as an event.
public actor Coordinator {
    public static let version = "0.1.0"

    let config: CoordinatorConfig
    let models: ModelStore
    /// Where storage work reads and writes blobs: `models`, unless a test put a failing store in front of it.
    let blobs: any ModelBlobs
    let jobs: JobDatabase
    let records: any JobRecordWriter
    let logger: Logger
    /// Checks sites' key advertisements against the consortium CA.
    let verifier: ConsortiumSignatureVerifier
    /// Seconds between retries of a failed durable step.
    let retryDelay: Double
    /// Where model building, aggregation and state writes run, in the order they are issued.
    let storage = DispatchQueue(label: "fedct.coordinator.storage", qos: .userInitiated)
    private let started = ContinuousClock.now
    /// Every job's record as last stored.
    var statuses: [String: Fedct_V1_JobStatus] = [:]
    /// Job ids in submission order.
    var order: [String] = []
    /// The running job.
    var run: JobRun?
    /// Masked uploads waiting for the one being added to the sum.
    var sumWaiters: [CheckedContinuation<Void, Never>] = []
    /// Coordinates of each model blob read so far.
    var coordinateCounts: [String: Int] = [:]

    public init(config: CoordinatorConfig, logger: Logger) throws {
        try self.init(config: config, logger: logger, retryDelay: 5, blobs: { $0 }, records: { $0 })
    }

    /// A coordinator whose model blobs and job records go through `blobs` (given the model store) and `records` (given
    /// the job database), retrying failed durable steps every `retryDelay` seconds.
    init(config: CoordinatorConfig, logger: Logger, retryDelay: Double, blobs: (ModelStore) -> any ModelBlobs,
         records: (JobDatabase) -> any JobRecordWriter) throws {
        let state = URL(fileURLWithPath: config.stateDirectory)
        self.config = config
        self.logger = logger
        self.retryDelay = retryDelay
        self.models = try ModelStore(folder: state.appending(path: "blobs"))
        self.blobs = blobs(models)
        self.jobs = try JobDatabase(url: state.appending(path: "coordinator.sqlite"))
        self.records = records(jobs)
        let imported = try jobs.importLegacyRecords(from: state.appending(path: "jobs"))
        if !imported.isEmpty { logger.info("imported JSON job records into the job database", metadata: ["jobs": "\(imported.joined(separator: ","))"]) }
        let caPEM: String
        do {
            caPEM = try String(contentsOfFile: config.caFile, encoding: .utf8)
        } catch {
            throw FedCTError(.invalidConfiguration, "cannot read tls.ca \(config.caFile): \(error.localizedDescription)")
        }
        self.verifier = try ConsortiumSignatureVerifier(caCertificatePEM: caPEM, source: config.caFile)
        let stored = try jobs.loadAll()
        statuses = Dictionary(uniqueKeysWithValues: stored.map { ($0.jobID, $0) })
        order = stored.map(\.jobID)
        if let status = stored.first(where: { $0.state == .waitingForSites || $0.state == .running }) {
            run = Self.run(of: status, logger: logger, retryDelay: retryDelay)
            logger.info("resuming job", metadata: ["job": "\(status.jobID)", "completed_rounds": "\(status.rounds.count)"])
        }
    }

    /// Monotonic seconds since this coordinator started.
    func now() -> Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    // MARK: Admin

    /// Completes `submitted` with the defaults of the settings it leaves out (as job.yaml is), validates and queues it;
    /// creates its initial global model (encoder + the objective's parts) from the job's seed. A job whose objective has a
    /// setup stage to run (time-to-event with `tte.derive_tasks`) gets its model after it. The stored spec holds every
    /// setting, so it never depends on a later coordinator's defaults.
    public func submit(_ submitted: Fedct_V1_JobSpec, by admin: String) async throws -> Fedct_V1_JobStatus {
        let spec = submitted.applyingDefaults()
        _ = try JobPlan(spec: spec, source: "job from \(admin)")
        let objective = try PretrainingObjectives.of(spec, source: "job from \(admin)")
        try PretrainingObjectives.validate(spec, source: "job from \(admin)")
        var status = Fedct_V1_JobStatus()
        status.spec = spec
        status.state = .queued
        var parameters = "derived after the setup stage"
        for start in objective.startingModels(for: spec) {  // what the initial model starts from must be stored now
            let blobs = self.blobs
            do {
                _ = try await onStorage { try blobs.get(start.sha256) }
            } catch {
                throw FedCTError(.invalidConfiguration, "job from \(admin): field '\(start.field)' names model \(start.sha256), which this coordinator cannot read (\(error)); name a round's model of a finished job (fedctl job status)")
            }
        }
        if !objective.awaitsSetup(spec) {
            let blobs = self.blobs
            let model = try await onStorage { try Self.initialModel(spec, blobs: blobs) }
            status.initialModelSha256 = model.sha256
            parameters = "\(model.parameters)"
        }
        status.jobID = String(format: "job-%04d", order.count + 1)
        status.submittedUnixSeconds = Date().timeIntervalSince1970
        // The id is taken before the write, so a submission arriving meanwhile gets the next one (a failed write leaves it unused).
        order.append(status.jobID)
        try await persist(&status)
        statuses[status.jobID] = status
        logger.info("job submitted", metadata: ["job": "\(status.jobID)", "by": "\(admin)", "parameters": "\(parameters)"])
        await carryOut(activateNextJobIfIdle())
        return withLiveFields(statuses[status.jobID]!)
    }

    public func listJobs() -> [Fedct_V1_JobStatus] { order.compactMap { statuses[$0] }.map(withLiveFields) }

    public func job(_ id: String) throws -> Fedct_V1_JobStatus {
        guard let status = statuses[id] else { throw FedCTError(.notFound, "no job \(id)") }
        return withLiveFields(status)
    }

    /// Cancels a queued or running job: its open round is discarded, its committed rounds stay. Throws when the cancelled
    /// state could not be written (the coordinator keeps retrying it for a running job).
    public func cancel(_ id: String, by admin: String) async throws -> Fedct_V1_JobStatus {
        guard var status = statuses[id] else { throw FedCTError(.notFound, "no job \(id)") }
        switch status.state {
        case .succeeded, .failed, .cancelled:
            throw FedCTError(.failedPrecondition, "job \(id) has already ended (\(status.state))")
        default:
            break
        }
        if let running = run, running.jobID == id {
            if let ending = running.ending { throw FedCTError(.failedPrecondition, "job \(id) is already ending (\(ending))") }
            logger.info("job cancelled", metadata: ["job": "\(id)", "by": "\(admin)"])
            await carryOut(run!.end(.cancelled, message: "cancelled by \(admin)", now: now()))
            if let failure = run?.writeFailure, run?.jobID == id {
                throw FedCTError(.io, "job \(id) is cancelled, but its record could not be written: \(failure); the coordinator retries until it can")
            }
        } else {
            logger.info("job cancelled", metadata: ["job": "\(id)", "by": "\(admin)"])
            status.state = .cancelled
            status.message = "cancelled by \(admin)"
            try await persist(&status)
            statuses[id] = status
        }
        return try job(id)
    }

    /// Time passed: the running job closes rounds and steps at their deadlines and retries failed durable steps.
    public func tick() async {
        publishJobMetrics()
        guard let running = run else { return }
        if !running.canRun && running.ending == nil {
            let objective = running.record.spec.objectiveKind.rawValue
            let message = "job \(running.jobID) has no initial model and this coordinator has no setup stage for its objective '\(objective)' (registered: \(PretrainingObjectives.names.joined(separator: ", "))); resubmit it to a coordinator that has the objective"
            return await carryOut(run!.end(.failed, message: message, now: now()))
        }
        await carryOut(run!.tick(now: now()))
    }

    // MARK: Jobs

    /// Stamps the record's update time and writes it to the job database, off the actor.
    func persist(_ status: inout Fedct_V1_JobStatus) async throws {
        status.updatedUnixSeconds = Date().timeIntervalSince1970
        let record = status
        let records = self.records
        try await onStorage { try records.save(record) }
    }

    /// Starts the next queued job when none runs; its directives save its new state.
    func activateNextJobIfIdle() -> [JobRun.Directive] {
        guard run == nil, let next = order.first(where: { statuses[$0]?.state == .queued }), let status = statuses[next] else { return [] }
        run = Self.run(of: status, logger: logger, retryDelay: retryDelay)
        return run!.activate(unixSeconds: Date().timeIntervalSince1970)
    }

    /// The run of a job that is waiting or running: one resumed after its last committed round, whose objective's setup
    /// stage runs again when it had not committed (an objective this build does not have leaves it with no steps and no
    /// model; `tick` fails it).
    static func run(of status: Fedct_V1_JobStatus, logger: Logger, retryDelay: Double) -> JobRun {
        let objective = try? PretrainingObjectives.of(status.spec)
        let awaitsSetup = objective?.awaitsSetup(status.spec) ?? status.initialModelSha256.isEmpty
        let derivation = awaitsSetup ? objective?.setupDerivation(for: status.spec) : nil
        return JobRun(record: status, derivation: derivation, logger: logger, retryDelay: retryDelay)
    }

    /// The number of float coordinates of a stored model, decoded once per blob.
    func coordinateCount(of sha256: String) throws -> Int {
        if let count = coordinateCounts[sha256] { return count }
        let count = try SafeTensors.decode(try models.get(sha256)).values.count
        coordinateCounts[sha256] = count
        return count
    }
}

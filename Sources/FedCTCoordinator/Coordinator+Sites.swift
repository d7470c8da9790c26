// Coordinator+Sites: the Site service's calls, each handed to the running JobRun and its directives carried out.
import FedCTCore
public import FedCTProto
import FedCTIdentity
import FedCTProtocol
public import Foundation

extension Coordinator {
    public func join(site: String, _ request: Fedct_V1_JoinRequest) async -> Fedct_V1_JoinResponse {
        logger.info("site joined", metadata: ["site": "\(site)", "train_scans": "\(request.trainScans)", "heldout_scans": "\(request.heldoutScans)"])
        if run != nil { await carryOut(run!.siteSeen(site, now: now())) }
        var response = Fedct_V1_JoinResponse()
        response.siteID = site
        response.coordinatorVersion = Self.version
        response.protocolVersion = WireProtocolVersion.current
        response.oldestSiteProtocolVersion = WireProtocolVersion.oldestSiteServed
        response.maxMessageBytes = Int64(config.maxMessageBytes)
        return response
    }

    public func heartbeat(site: String) async {
        if run != nil { await carryOut(run!.siteSeen(site, now: now())) }
    }

    public func pullTask(site: String) async -> Fedct_V1_Task {
        var task = Fedct_V1_Task()
        guard run != nil else {
            // Idle: tell the site the last job is over, so agents run with --exit-after-job can stop.
            if let last = order.last, [.succeeded, .failed, .cancelled].contains(statuses[last]?.state) {
                task.kind = .jobFinished
                task.jobID = last
            } else {
                task.kind = .wait
                task.retryAfterMs = 500
            }
            return task
        }
        let (assignment, directives) = run!.taskRequested(by: site, now: now())
        task.jobID = run!.jobID
        let spec = run!.record.spec
        switch assignment {
        case .wait(let delay):
            task.kind = .wait
            task.retryAfterMs = Int64(delay)
        case .train(let round, let sha, let attempt):
            task.kind = .train
            task.round = Int32(round)
            task.modelSha256 = sha
            task.modelBytes = Int64(models.size(sha) ?? 0)
            task.spec = spec
            task.attempt = Int32(attempt)
        case .evaluate(let round, let sha):
            task.kind = .evaluate
            task.round = Int32(round)
            task.modelSha256 = sha
            task.modelBytes = Int64(models.size(sha) ?? 0)
            task.spec = spec
            task.attempt = 1
        case .setup(let step, let request, let attempt):
            task.kind = .setup
            task.round = Int32(step.wireRound)
            task.attempt = Int32(attempt)
            task.spec = spec
            task.setup.stage = step.name
            task.setup.codes = request.names
            task.setup.listSha256 = step.listSHA256(request.names)
            task.setup.proposals = run!.setup.relayedProposals(for: step)
            if let grid = request.grid {
                task.setup.firstEdgeDays = grid.firstEdgeDays
                task.setup.lastEdgeDays = grid.lastEdgeDays
                task.setup.bins = Int32(grid.bins)
            }
        case .finished:
            task.kind = .jobFinished
        }
        await carryOut(directives)
        return task
    }

    /// The file of a model blob a site or admin may fetch.
    public func modelBlob(_ sha256: String) throws -> URL {
        guard models.size(sha256) != nil else { throw FedCTError(.notFound, "no model blob \(sha256)") }
        return models.url(for: sha256)
    }

    /// A site fetched `bytes` of a model: counted in the open round's traffic.
    public func recordDownload(site: String, bytes: Int) {
        run?.recordDownload(site: site, bytes: bytes)
    }

    // MARK: Updates

    /// Checks an upload header before its payload is read; returns where to spool it, its byte length
    /// and whether it is a masked input (words, not floats).
    public func beginUpload(site: String, header: Fedct_V1_UpdateHeader) async throws -> (url: URL, bytes: Int, masked: Bool) {
        guard run != nil else { throw FedCTError(.failedPrecondition, "\(site) uploaded for job \(header.jobID), which is not the running job") }
        let model = header.baseModelSha256
        if coordinateCounts[model] == nil, model == run?.machine.globalModelSHA256 {
            // The round's model's header is read, off the actor: its tensors' sizes, not its values (uploads that start
            // together each read it until one has stored the count).
            let models = self.models
            coordinateCounts[model] = try await onStorage { try models.reader(model).header.valueCount }
        }
        guard run != nil else { throw FedCTError(.failedPrecondition, "\(site) uploaded for job \(header.jobID), which is not the running job") }
        let kind = try run!.checkUpload(from: site, header: header) { try coordinateCount(of: model) }
        let folder = URL(fileURLWithPath: config.stateDirectory).appending(path: "spool/\(header.jobID)/round-\(header.round)")
        switch kind {
        case .masked(let words): return (folder.appending(path: "\(site).u32"), words * 4, true)
        case .plain(let coordinates): return (folder.appending(path: "\(site).f32"), coordinates * 4, false)
        }
    }

    /// A verified update is on disk: a masked input goes into the round's sum (and its spool is deleted), a plain one is
    /// kept for aggregation; the round is aggregated and committed when it is complete.
    public func finishUpload(site: String, header: Fedct_V1_UpdateHeader, spooled url: URL) async throws {
        guard header.hasMasked else {
            guard run?.jobID == header.jobID, run?.ending == nil else {
                throw FedCTError(.failedPrecondition, "job \(header.jobID) is no longer running; the update is discarded")
            }
            let directives = try run!.onUploadAccepted(from: site, header: header, spooledPath: url.path, now: now())
            CoordinatorMetrics.updateAccepted(site: site, bytes: Int(header.coordinateCount) * 4)
            return await carryOut(directives)
        }
        defer { try? FileManager.default.removeItem(at: url) }
        // One masked input at a time is added to the sum, in place, on the storage queue.
        while run?.isSumming == true { await withCheckedContinuation { sumWaiters.append($0) } }
        guard run?.jobID == header.jobID, run?.ending == nil else {
            throw FedCTError(.failedPrecondition, "job \(header.jobID) is no longer running; the update is discarded")
        }
        let box = MaskedSumBox(try run!.takeMaskedSum(for: site, header: header))
        var failure: (any Error)?
        do {
            try await onStorage { try box.add(site: site, contentsOf: url) }
        } catch {
            failure = error
        }
        var directives: [JobRun.Directive] = []
        if run?.jobID != header.jobID {
            failure = failure ?? FedCTError(.failedPrecondition, "job \(header.jobID) is no longer running; the update is discarded")
        } else if let error = failure {
            directives = run!.onMaskedInputFailed(from: site, error: error, now: now())
        } else {
            do {
                directives = try run!.onMaskedInputSummed(box.take(), from: site, header: header, now: now())
            } catch {
                failure = error
            }
        }
        let waiting = sumWaiters
        sumWaiters = []
        for waiter in waiting { waiter.resume() }
        await carryOut(directives)
        if let failure { throw failure }
        CoordinatorMetrics.updateAccepted(site: site, bytes: Int(header.coordinateCount) * 4)
    }

    // MARK: Secure aggregation

    public func advertiseKeys(site: String, certificatePEM: String, _ advertisement: Fedct_V1_KeyAdvertisement) async throws {
        let verifier = self.verifier
        try await event(site, advertisement.jobID, advertisement.round, advertisement.attempt) { run, now in
            try run.onKeyAdvertisement(advertisement, from: site, certificatePEM: certificatePEM, now: now) {
                do {
                    try verifier.verify(certificatePEM: $0, site: $1, message: $2, signature: $3)
                } catch let error as IdentityError {
                    throw FedCTError(.permissionDenied, error.message)
                }
            }
        }
    }

    public func shareKeys(site: String, _ request: Fedct_V1_ShareKeysRequest) async throws {
        try await event(site, request.jobID, request.round, request.attempt) { run, now in try run.onShares(request, from: site, now: now) }
    }

    public func unmask(site: String, _ request: Fedct_V1_UnmaskRequest) async throws {
        try await event(site, request.jobID, request.round, request.attempt) { run, now in try run.onUnmask(request, from: site, now: now) }
    }

    /// What a site's secure-aggregation session should do next; ABORTED when its round is gone.
    public func secAggStep(site: String, _ request: Fedct_V1_SecAggStepRequest) async -> Fedct_V1_SecAggStepResponse {
        guard run != nil else {
            var response = Fedct_V1_SecAggStepResponse()
            response.step = .aborted
            response.reason = "job \(request.jobID) round \(request.round) attempt \(request.attempt) is no longer open at the coordinator"
            return response
        }
        let directives = run!.siteSeen(site, now: now())
        let response = run!.secureStep(for: site, request)
        await carryOut(directives)
        return response
    }

    /// Feeds a secure-aggregation message to the running job and carries out its directives.
    private func event(_ site: String, _ jobID: String, _ round: Int32, _ attempt: Int32,
                       _ body: (inout JobRun, Double) throws -> [JobRun.Directive]) async throws {
        guard run != nil else {
            throw FedCTError(.failedPrecondition, "\(site) sent a secure-aggregation message for job \(jobID) round \(round) attempt \(attempt), which is not open")
        }
        let now = now()
        await carryOut(try body(&run!, now))
    }

    // MARK: Setup stage and evaluation

    /// A site's answer to the open setup step; `certificatePEM` is the certificate of its call (names answers are signed by its key).
    public func submitSetup(site: String, certificatePEM: String, _ submission: Fedct_V1_SetupSubmission) async throws -> Fedct_V1_SetupReceipt {
        guard run != nil else {
            throw FedCTError(.failedPrecondition, "\(site) sent setup statistics for job \(submission.jobID), which is not the running job or has no setup stage")
        }
        let verifier = self.verifier
        await carryOut(try run!.onSetupSubmission(submission, from: site, certificatePEM: certificatePEM, verify: {
            try verifier.verify(certificatePEM: $0, site: $1, message: $2, signature: $3, what: "candidate list")
        }, now: now()))
        var receipt = Fedct_V1_SetupReceipt()
        receipt.bytesReceived = Int64((try submission.serializedBytes() as [UInt8]).count)
        return receipt
    }

    /// A site's evaluation report: checked and added to the job record (`JobRun.onEvaluationReport`).
    public func reportMetrics(site: String, _ report: Fedct_V1_MetricsReport) async throws {
        guard run != nil else {
            throw FedCTError(.failedPrecondition, "\(site) reported metrics for job \(report.jobID), which is not the running job; the report is discarded")
        }
        await carryOut(try run!.onEvaluationReport(report, from: site, reportedAt: Date().timeIntervalSince1970, now: now()))
    }
}

/// A masked sum lent by the job run while one site's input is added to it on the storage queue. The box is the sum's only
/// owner, so its words are updated in place.
///
/// `@unchecked Sendable`: one storage task at a time touches it (the run lends its sum to one upload at a time), and the
/// actor takes the sum back only after that task ended.
final class MaskedSumBox: @unchecked Sendable {
    private var sum: MaskedSum?

    init(_ sum: MaskedSum) { self.sum = sum }

    /// Adds the little-endian words of the spooled masked input at `url` as `site`'s contribution.
    func add(site: String, contentsOf url: URL) throws {
        try sum!.begin(site: site)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            try chunk.withUnsafeBytes { try sum!.add(littleEndianWords: $0) }
        }
        try sum!.end()
    }

    /// The sum, handed back to the run.
    func take() -> MaskedSum {
        defer { sum = nil }
        return sum!
    }
}

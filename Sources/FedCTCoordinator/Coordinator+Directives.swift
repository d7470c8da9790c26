// Coordinator+Directives: carries out a JobRun's directives — storage work off the actor, each result fed back as an event.
import FedCTCore
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation

extension Coordinator {
    /// Carries out `directives` of the running job and every directive a run returns for their results, in order.
    func carryOut(_ directives: [JobRun.Directive]) async {
        guard let jobID = run?.jobID else { return }
        var queue = directives.map { (jobID, $0) }[...]
        while let (jobID, directive) = queue.popFirst() {
            let more = await carryOut(directive, of: jobID)
            // A run's results go back to it; after `jobEnded` the next job's run may have started.
            guard let next = run?.jobID else { continue }
            queue += more.map { (next, $0) }
        }
    }

    /// Carries out one directive of the run of `jobID`; returns what that run (or the next job's) asks next.
    private func carryOut(_ directive: JobRun.Directive, of jobID: String) async -> [JobRun.Directive] {
        switch directive {
        case .saveRecord(var record, let version):
            record.updatedUnixSeconds = Date().timeIntervalSince1970
            let stamped = record
            let records = self.records
            do {
                try await onStorage { try records.save(stamped) }
                if run?.jobID != stamped.jobID || version > run!.storedVersion { statuses[stamped.jobID] = stamped }
                return deliver(to: stamped.jobID) { $0.onRecordSaved(version: version, now: now()) }
            } catch {
                logger.error("cannot write the job record; the job waits and retries", metadata: [
                    "job": "\(stamped.jobID)", "retry_seconds": "\(retryDelay)", "error": "\(error)",
                ])
                return deliver(to: stamped.jobID) { $0.onRecordSaveFailed(version: version, error: error, now: now()) }
            }
        case .storeRoundModel(let request):
            guard run?.jobID == jobID else { return [] }
            let blobs = self.blobs
            do {
                let stored = try await onStorage { try Self.roundModel(request, jobID: jobID, blobs: blobs) }
                return deliver(to: jobID) { $0.onRoundModelStored(round: request.round, stored, now: now()) }
            } catch {
                if (error as? FedCTError)?.code == .io {
                    logger.error("cannot store the round's model; the round waits and retries", metadata: [
                        "job": "\(jobID)", "round": "\(request.round)", "retry_seconds": "\(retryDelay)", "error": "\(error)",
                    ])
                }
                return deliver(to: jobID) { $0.onRoundModelFailed(round: request.round, error: error, now: now()) }
            }
        case .storeInitialModel(let spec):
            guard run?.jobID == jobID else { return [] }
            let blobs = self.blobs
            do {
                let model = try await onStorage { try Self.initialModel(spec, blobs: blobs) }
                logger.info("initial model stored", metadata: ["job": "\(jobID)", "parameters": "\(model.parameters)"])
                return deliver(to: jobID) { $0.onInitialModelStored(modelSHA256: model.sha256, now: now()) }
            } catch {
                if (error as? FedCTError)?.code == .io {
                    logger.error("cannot store the initial model; the setup stage waits and retries", metadata: [
                        "job": "\(jobID)", "retry_seconds": "\(retryDelay)", "error": "\(error)",
                    ])
                }
                return deliver(to: jobID) { $0.onInitialModelFailed(error: error, now: now()) }
            }
        case .deleteSpools(let paths):
            // A spool that cannot be deleted costs only disk space: it is never read again.
            try? await onStorage { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
            return []
        case .roundEnded(let outcome, let seconds):
            CoordinatorMetrics.roundEnded(job: jobID, outcome, seconds: seconds)
            return []
        case .secureStepEnded(let phase, let seconds):
            CoordinatorMetrics.secureStep(phase, seconds: seconds)
            return []
        case .jobEnded(let record):
            guard run?.jobID == record.jobID else { return [] }
            run = nil
            logger.info("job ended", metadata: ["job": "\(record.jobID)", "state": "\(record.state)", "message": "\(record.message)"])
            return activateNextJobIfIdle()
        }
    }

    /// Feeds an event to the run of `jobID`; nothing when that job no longer runs (its result is dropped).
    private func deliver(to jobID: String, _ event: (inout JobRun) -> [JobRun.Directive]) -> [JobRun.Directive] {
        guard run?.jobID == jobID else { return [] }
        return event(&run!)
    }

    /// Runs `body` on the storage queue, off the actor; storage work runs one at a time, in the order it was issued.
    func onStorage<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            storage.async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: Storage work

    /// Stores the initial model of `spec` (round 0: seeded, or started from a stored model as its objective says) and
    /// returns its blob's SHA-256 and parameter count.
    static func initialModel(_ spec: Fedct_V1_JobSpec, blobs: any ModelBlobs) throws -> (sha256: String, parameters: Int) {
        let model = try PretrainingObjectives.of(spec).initialModel(for: spec) { try blobs.get($0) }
        let blob = SafeTensors.encode(try model.state(metadata: ["job": spec.name, "round": "0"]))
        return (try blobs.put(blob), model.parameterCount)
    }
}

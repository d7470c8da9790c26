// Tests of the Coordinator actor with a job database that stops taking writes: the round waits, nothing is lost, the job resumes.
import Crypto
import FedCTAdmin
@testable import FedCTCoordinator
import FedCTCore
import FedCTIdentity
import FedCTProto
import FedCTStorage
import Foundation
import Logging
import Synchronization
import XCTest

/// The job database behind a switch: while `full` is on, every save fails as SQLite does on a full disk.
final class SwitchedRecordWriter: JobRecordWriter {
    let database: JobDatabase
    let full = Atomic<Bool>(false)
    let refusals = Atomic<Int>(0)

    init(_ database: JobDatabase) { self.database = database }

    func save(_ status: Fedct_V1_JobStatus) throws {
        if full.load(ordering: .sequentiallyConsistent) {
            refusals.add(1, ordering: .sequentiallyConsistent)
            throw FedCTError(.io, "\(database.url.path): could not save job \(status.jobID): database or disk is full (SQLite 13); nothing of it was written")
        }
        try database.save(status)
    }
}

/// The model store behind a switch: while `full` is on, every blob write fails as `AtomicFile` does on a full disk.
final class SwitchedBlobs: ModelBlobs {
    let store: ModelStore
    let full = Atomic<Bool>(false)
    let refusals = Atomic<Int>(0)

    init(_ store: ModelStore) { self.store = store }

    func get(_ sha256: String) throws -> [UInt8] { try store.get(sha256) }

    func put(_ bytes: [UInt8]) throws -> String {
        if full.load(ordering: .sequentiallyConsistent) {
            refusals.add(1, ordering: .sequentiallyConsistent)
            throw FedCTError(.io, "cannot write \(store.folder.path)/new.safetensors: No space left on device (disk full?); nothing was replaced")
        }
        return try store.put(bytes)
    }

    func reader(_ sha256: String) throws -> ModelBlobReader { try store.reader(sha256) }

    func writer() throws -> ModelBlobWriter {
        if full.load(ordering: .sequentiallyConsistent) {
            refusals.add(1, ordering: .sequentiallyConsistent)
            throw FedCTError(.io, "cannot write \(store.folder.path)/new.safetensors: No space left on device (disk full?); nothing was replaced")
        }
        return try store.writer()
    }
}

final class CoordinatorFullDiskTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-full-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A state folder holding one waiting job (one plain round of two sites over a 4-coordinate model) and its model.
    private func stateFolder() throws -> (config: CoordinatorConfig, model: String) {
        let state = folder.appending(path: "state")
        let ca = folder.appending(path: "ca.pem")
        try Data(try ConsortiumAuthority(consortium: "unit").certificatePEM.utf8).write(to: ca)
        let model = try ModelState(layout: [TensorLayout(name: "w", shape: [4])], values: [1, 2, 3, 4])
        let sha = try ModelStore(folder: state.appending(path: "blobs")).put(SafeTensors.encode(model))
        var spec = Fedct_V1_JobSpec()
        spec.name = "full-disk"
        spec.rounds = 1
        spec.minSites = 2
        spec.secureAggregation.enabled = false
        spec.evaluation.enabled = false
        var status = Fedct_V1_JobStatus()
        status.jobID = "job-0001"
        status.spec = spec.applyingDefaults()
        status.state = .waitingForSites
        status.initialModelSha256 = sha
        try JobDatabase(url: state.appending(path: "coordinator.sqlite")).save(status)
        let config = CoordinatorConfig(listen: "127.0.0.1:0", caFile: ca.path, certificateFile: "", keyFile: "", stateDirectory: state.path)
        return (config, sha)
    }

    /// `site` uploads `values` for round 1 from `model`.
    private func upload(_ coordinator: Coordinator, site: String, values: [Float], model: String) async throws {
        let payload = Float32Stream.encode(values[...])
        var header = Fedct_V1_UpdateHeader()
        header.jobID = "job-0001"
        header.round = 1
        header.baseModelSha256 = model
        header.coordinateCount = Int64(values.count)
        header.exampleCount = 10
        header.payloadSha256 = SHA256.hex(payload)
        let target = try await coordinator.beginUpload(site: site, header: header)
        let spool = try UpdateSpool(url: target.url, expectedBytes: target.bytes, checksFloats: !target.masked)
        try spool.append(payload)
        try await coordinator.finishUpload(site: site, header: header, spooled: try spool.finish(expectedSHA256: header.payloadSha256))
    }

    /// Four ticks, `retryDelay` (50 ms) apart and a little more.
    private func tickWhileFull(_ coordinator: Coordinator) async throws {
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(60))
            await coordinator.tick()
        }
    }

    func testFullDiskKeepsTheRoundWaitingAndTheJobResumesOnceSpaceIsFreed() async throws {
        let (config, model) = try stateFolder()
        var switchedBlobs: SwitchedBlobs?
        var switchedRecords: SwitchedRecordWriter?
        let coordinator = try Coordinator(config: config, logger: Logger(label: "test"), retryDelay: 0.05, blobs: { store in
            let switched = SwitchedBlobs(store)
            switchedBlobs = switched
            return switched
        }, records: { database in
            let switched = SwitchedRecordWriter(database)
            switchedRecords = switched
            return switched
        })
        let blobs = try XCTUnwrap(switchedBlobs)
        let records = try XCTUnwrap(switchedRecords)
        for site in ["a", "b"] { _ = await coordinator.join(site: site, Fedct_V1_JoinRequest()) }
        for site in ["a", "b"] {
            let task = await coordinator.pullTask(site: site)
            XCTAssertEqual(task.kind, .train)
        }
        blobs.full.store(true, ordering: .sequentiallyConsistent)
        records.full.store(true, ordering: .sequentiallyConsistent)
        try await upload(coordinator, site: "a", values: [1, 1, 1, 1], model: model)
        try await upload(coordinator, site: "b", values: [3, 3, 3, 3], model: model)

        // The blob store is full: the round's model cannot be stored; the round waits with its updates and says why.
        try await tickWhileFull(coordinator)
        XCTAssertGreaterThan(blobs.refusals.load(ordering: .sequentiallyConsistent), 1, "the model's store is retried")
        var status = try await coordinator.job("job-0001")
        XCTAssertEqual(status.rounds.count, 0)
        XCTAssertTrue(status.message.contains("No space left on device") && status.message.contains("blobs"), status.message)
        XCTAssertEqual(status.attempt, 1, "waiting for the disk spends no attempt")

        // The model is stored but the database is full: the job waits, says why, and never reports success.
        blobs.full.store(false, ordering: .sequentiallyConsistent)
        try await tickWhileFull(coordinator)
        XCTAssertGreaterThan(records.refusals.load(ordering: .sequentiallyConsistent), 1, "the save is retried")
        status = try await coordinator.job("job-0001")
        XCTAssertEqual(status.state, .running)
        XCTAssertEqual(status.rounds.count, 0, "nothing is reported committed before it is stored")
        XCTAssertTrue(status.message.contains("database or disk is full") && status.message.contains("coordinator.sqlite"), status.message)
        XCTAssertEqual(status.attempt, 1, "waiting for the disk spends no attempt")
        let waiting = await coordinator.pullTask(site: "a")
        XCTAssertEqual(waiting.kind, .wait)

        // Space is freed: the round commits with both updates and the job ends.
        records.full.store(false, ordering: .sequentiallyConsistent)
        try await Task.sleep(for: .milliseconds(60))
        await coordinator.tick()
        status = try await coordinator.job("job-0001")
        XCTAssertEqual(status.state, .succeeded, status.message)
        XCTAssertEqual(status.rounds.map(\.sites), [["a", "b"]])
        let committed = try SafeTensors.decode(try ModelStore(folder: URL(fileURLWithPath: config.stateDirectory).appending(path: "blobs")).get(status.rounds[0].modelSha256))
        XCTAssertEqual(committed.values, [3, 4, 5, 6], "FedAvg: old + the mean update (2)")
        let reopened = try JobDatabase(url: URL(fileURLWithPath: config.stateDirectory).appending(path: "coordinator.sqlite")).loadAll()
        XCTAssertEqual(reopened.first?.rounds.count, 1, "the round is on disk")
        XCTAssertEqual(reopened.first?.state, .succeeded)
        let spool = URL(fileURLWithPath: config.stateDirectory).appending(path: "spool/job-0001/round-1")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spool.path), [], "the spooled updates are deleted once committed")
    }
}

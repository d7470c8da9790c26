// Multi-process test: a coordinator and two site agents over real gRPC with mutual TLS run a 2-round job with
// secure aggregation; each stored global model must equal the previous one plus the example-weighted mean of the
// sites' clipped local updates (within the fixed-point bound), while only masked words left the sites.
import FedCTAdmin
import FedCTCore
import FedCTData
import FedCTIdentity
import FedCTProto
import FedCTProtocol
import FedCTRPC
import Foundation
import XCTest

final class FederationEndToEndTests: XCTestCase {
    func testTwoSitesTwoRoundsOverMutualTLS() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost", "127.0.0.1"], sites: ["site-1", "site-2"], admins: ["admin"]),
                                  into: root.appending(path: "pki"))
        try Provisioner.provision(ConsortiumPlan(name: "rogue", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: []),
                                  into: root.appending(path: "rogue"))
        try SyntheticConsortium(patientsPerSite: [10, 6], volumeSize: 16, seed: 5).write(to: root.appending(path: "data"))

        let coordinatorConfig = try harness.write("""
            listen: 127.0.0.1:0
            port_file: \(root.path)/coordinator.port
            state_dir: \(root.path)/state
            tls: {ca: pki/coordinator/ca.pem, cert: pki/coordinator/cert.pem, key: pki/coordinator/key.pem}
            """, to: "coordinator.yaml")
        try harness.start("fedct-coordinator", ["--config", coordinatorConfig], label: "coordinator")
        let port = try harness.waitForFile(root.appending(path: "coordinator.port"))
        let address = "localhost:\(port)"

        let admin = try AdminClient(address: address, tls: TLSConfig.load(
            caFile: root.appending(path: "pki/admin/ca.pem").path, certificateFile: root.appending(path: "pki/admin/cert.pem").path,
            keyFile: root.appending(path: "pki/admin/key.pem").path))
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = "it"
        spec.rounds = 2
        spec.minSites = 2
        spec.roundDeadlineSeconds = 120
        spec.encoder.width = 2
        spec.encoder.norm = "batch"
        spec.strategy.name = "fedbn"
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.training.batchSize = 4
        spec.secureAggregation.clipNorm = 10
        spec.secureAggregation.maxExamplesPerSite = 64
        let submitted = try await admin.submit(spec)

        // Roles come from the certificate: a site may not call Admin, an admin may not call Site.
        let siteAsAdmin = try AdminClient(address: address, tls: TLSConfig.load(
            caFile: root.appending(path: "pki/site-1/ca.pem").path, certificateFile: root.appending(path: "pki/site-1/cert.pem").path,
            keyFile: root.appending(path: "pki/site-1/key.pem").path))
        do {
            _ = try await siteAsAdmin.list()
            XCTFail("a site must not list jobs")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .permissionDenied, "\(error)")
        }
        // A site agent from before protocol versions (no protocol_version at Join) is refused, naming both versions.
        let oldAgent = try GRPCChannel(options: ChannelOptions(target: address, tls: TLSConfig.load(
            caFile: root.appending(path: "pki/site-1/ca.pem").path, certificateFile: root.appending(path: "pki/site-1/cert.pem").path,
            keyFile: root.appending(path: "pki/site-1/key.pem").path)))
        var oldJoin = Fedct_V1_JoinRequest()
        oldJoin.agentVersion = "0.0.9"
        do {
            _ = try await oldAgent.unary(method: SiteRPC.join.path, request: try oldJoin.serializedBytes(), timeout: .seconds(10))
            XCTFail("an agent on protocol 1 must be refused")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .failedPrecondition, "\(error)")
            XCTAssertTrue(error.message.contains("version 0.0.9") && error.message.contains("protocol 1") && error.message.contains("upgrade the site agent"),
                          error.message)
        }
        var invalid = spec
        invalid.training.batchSize = 0
        do {
            _ = try await admin.submit(invalid)
            XCTFail("an invalid job must be refused")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertTrue(error.message.contains("training.batch_size"), error.message)
        }

        func siteConfig(_ name: String, pki: String = "pki", data: String? = nil) throws -> String {
            try harness.write("""
                coordinator: {address: "\(address)"}
                tls: {ca: \(pki)/\(name)/ca.pem, cert: \(pki)/\(name)/cert.pem, key: \(pki)/\(name)/key.pem}
                data: {dir: \(data ?? "data/\(name)")}
                threads: 1
                state_dir: state-\(name)-\(pki)
                egress: {archive_updates: true}
                """, to: "\(name)-\(pki).yaml")
        }
        // A site whose certificate comes from another CA is refused, and says what to check.
        let rogue = try harness.run("fedct-site", ["--config", try siteConfig("site-1", pki: "rogue"), "--connect-attempts", "2"])
        XCTAssertNotEqual(rogue.status, 0)
        XCTAssertTrue(rogue.output.contains("tls.ca"), rogue.output)

        let sites = try ["site-1", "site-2"].map { name in
            try harness.start("fedct-site", ["--config", try siteConfig(name), "--exit-after-job"], label: name)
        }
        var status = try await admin.job(submitted.jobID)
        let deadline = Date().addingTimeInterval(240)
        while status.state != .succeeded && status.state != .failed && Date() < deadline {
            try await Task.sleep(for: .milliseconds(300))
            status = try await admin.job(submitted.jobID)
        }
        XCTAssertEqual(status.state, .succeeded, "\(status.message)\n\(harness.log("coordinator"))\n\(harness.log("site-1"))")
        XCTAssertEqual(status.rounds.count, 2)

        var previous = try SafeTensors.decode(try await admin.fetchModel(sha256: status.initialModelSha256))
        let encoding = try FixedPointEncoding(clipNorm: 10, maxWeight: 64, sites: 2)
        for record in status.rounds {
            XCTAssertEqual(record.sites, ["site-1", "site-2"])
            XCTAssertTrue(record.securelyAggregated)
            XCTAssertEqual(record.threshold, 2)
            XCTAssertEqual(record.droppedSites, [])
            let stored = try SafeTensors.decode(try await admin.fetchModel(sha256: record.modelSha256))
            XCTAssertNotEqual(stored.values, previous.values, "round \(record.round) must change the model")
            // Each site's archive: what it sent (masked words and header) and, kept locally, the delta and weight behind it.
            var weighted = [Double](repeating: 0, count: previous.values.count)
            var total = 0.0
            for name in ["site-1", "site-2"] {
                let stem = root.appending(path: "state-\(name)-pki/egress-archive/\(status.jobID)-round-\(record.round)")
                let upload = try ArchivedUpload(stateDirectory: root.appending(path: "state-\(name)-pki"), jobID: status.jobID, round: Int(record.round))
                let header = upload.header
                XCTAssertEqual(header.baseModelSha256, record.round == 1 ? status.initialModelSha256 : status.rounds[Int(record.round) - 2].modelSha256)
                XCTAssertEqual(header.exampleCount, 0, "the weight travels only inside the masked vector")
                XCTAssertEqual(header.masked.scale, encoding.scale)
                let masked = upload.payload
                XCTAssertEqual(masked.count, (previous.values.count + 2) * 4, "the weight, the coordinates and the loss word")
                XCTAssertGreaterThan(header.masked.lossScale, 0, "the training loss travels inside the masked sum")
                XCTAssertEqual(header.meanTrainLoss, 0, "no training loss in the clear")
                XCTAssertEqual(header.localSteps, 0, "no local step count (≈ training-set size) in the clear")
                // Masked words look uniform: an unmasked encoding of small deltas would be mostly near zero.
                let small = masked.withUnsafeBytes { raw in (0..<(masked.count / 4)).filter { abs(Int64(Int32(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) < 1 << 24 }.count }
                XCTAssertLessThan(Double(small) / Double(masked.count / 4), 0.05, "\(name) round \(record.round): the upload is not masked")
                var stream = Float32Stream()
                var delta: [Float] = []
                stream.feed([UInt8](try Data(contentsOf: stem.appendingPathExtension("local.f32")))) { delta.append(contentsOf: $0) }
                XCTAssertEqual(delta.count, previous.values.count)
                let local = try JSONSerialization.jsonObject(with: Data(contentsOf: stem.appendingPathExtension("local.json"))) as? [String: Any]
                let weight = try XCTUnwrap(local?["example_weight"] as? Int)
                let factor = encoding.clipFactor(delta).factor
                for index in delta.indices { weighted[index] += Double(weight) * factor * Double(delta[index]) }
                total += Double(weight)
            }
            XCTAssertEqual(Int64(total), record.exampleCount)
            let bound = 2 / (encoding.scale * total)
            var worst = 0.0
            for index in weighted.indices {
                let expected = Double(previous.values[index]) + weighted[index] / total
                worst = max(worst, abs(Double(stored.values[index]) - expected) - 1e-6 * max(1, abs(expected)))
            }
            XCTAssertLessThanOrEqual(worst, bound, "round \(record.round): stored model differs from old + weighted mean of the clipped deltas")
            // FedBN: the coordinator's normalisation layers never move; everything else does.
            var offset = 0
            for tensor in stored.layout {
                let range = offset..<(offset + tensor.count)
                offset += tensor.count
                if tensor.name.contains("bn1") || tensor.name.contains("bn2") || tensor.name.contains("downsample.1") {
                    XCTAssertEqual(Array(stored.values[range]), Array(previous.values[range]), "\(tensor.name) must stay at the sites")
                }
            }
            previous = stored
        }
        for site in sites {
            site.waitUntilExit()
            XCTAssertEqual(site.terminationStatus, 0)
        }
        // A second job waits for sites that have gone home; an admin cancels it, once.
        let second = try await admin.submit(spec)
        let cancelled = try await admin.cancel(second.jobID)
        XCTAssertEqual(cancelled.state, .cancelled)
        do {
            _ = try await admin.cancel(second.jobID)
            XCTFail("cancelling an ended job must fail")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .failedPrecondition, "\(error)")
        }
        let watch = try harness.run("fedctl", ["job", "watch", "--once", "--coordinator", address, "--credentials", root.appending(path: "pki/admin").path, status.jobID])
        XCTAssertEqual(watch.status, 0, watch.output)
        XCTAssertTrue(watch.output.contains("succeeded, 2/2 rounds committed"), watch.output)

        // The ledger recorded every secure-aggregation message and every masked update before it left.
        let ledger = try String(contentsOf: root.appending(path: "state-site-1-pki/egress.jsonl"), encoding: .utf8)
        for kind in ["masked-update", "secagg-advertise-keys", "secagg-share-keys", "secagg-unmask"] {
            XCTAssertEqual(ledger.components(separatedBy: "\"kind\":\"\(kind)\"").count - 1, 2, kind)
        }
        XCTAssertFalse(ledger.contains("\"kind\":\"update\""), "no unmasked update left the site")
    }

    func testSiteStartupErrorsSayWhatToFix() throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: []), into: root.appending(path: "pki"))
        try FileManager.default.createDirectory(at: root.appending(path: "data"), withIntermediateDirectories: true)
        try Data("scan_id,subject_id,image_path,index_time,split\n".utf8).write(to: root.appending(path: "data/cohort.csv"))
        try Data("subject_id,time,code,numeric_value\n".utf8).write(to: root.appending(path: "data/events.csv"))
        let tls = "tls: {ca: pki/site-1/ca.pem, cert: pki/site-1/cert.pem, key: pki/site-1/key.pem}"

        let malformed = try harness.run("fedct-site", ["--config", try harness.write("coordinator: {address: \"localhost:1\"}\n\(tls)\ndata: {dir: data}\nthreads: many\n", to: "bad.yaml")])
        XCTAssertNotEqual(malformed.status, 0)
        XCTAssertTrue(malformed.output.contains("bad.yaml") && malformed.output.contains("'threads'"), malformed.output)

        let noData = try harness.run("fedct-site", ["--config", try harness.write("coordinator: {address: \"localhost:1\"}\n\(tls)\ndata: {dir: missing}\n", to: "nodata.yaml")])
        XCTAssertNotEqual(noData.status, 0)
        XCTAssertTrue(noData.output.contains("missing") && noData.output.contains("data.dir"), noData.output)

        // The start-up kit's site.yaml parses as it is, and says the one thing left to set.
        let kit = try harness.run("fedct-site", ["--config", root.appending(path: "pki/site-1/site.yaml").path])
        XCTAssertNotEqual(kit.status, 0)
        XCTAssertTrue(kit.output.contains("/path/to/fedct-data") && kit.output.contains("data.dir"), kit.output)

        // Nothing listens on port 1: the agent gives up after the allowed attempts and says what to check.
        let unreachable = try harness.run("fedct-site", ["--config", try harness.write("coordinator: {address: \"127.0.0.1:1\"}\n\(tls)\ndata: {dir: data}\n", to: "unreachable.yaml"), "--connect-attempts", "1"])
        XCTAssertNotEqual(unreachable.status, 0)
        XCTAssertTrue(unreachable.output.contains("cannot reach the coordinator at 127.0.0.1:1"), unreachable.output)
    }

    func testKilledCoordinatorResumesAfterItsLastCommittedRound() async throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: ["site-1", "site-2"], admins: ["admin"]),
                                  into: root.appending(path: "pki"))
        try SyntheticConsortium(patientsPerSite: [8, 8], volumeSize: 16, seed: 9).write(to: root.appending(path: "data"))
        let port = try ProcessHarness.freePort()
        let config = try harness.write("""
            listen: 127.0.0.1:\(port)
            state_dir: \(root.path)/state
            tls: {ca: pki/coordinator/ca.pem, cert: pki/coordinator/cert.pem, key: pki/coordinator/key.pem}
            """, to: "coordinator.yaml")
        var coordinator = try harness.start("fedct-coordinator", ["--config", config], label: "coordinator-1")
        let admin = try AdminClient(address: "localhost:\(port)", tls: TLSConfig.load(
            caFile: root.appending(path: "pki/admin/ca.pem").path, certificateFile: root.appending(path: "pki/admin/cert.pem").path,
            keyFile: root.appending(path: "pki/admin/key.pem").path))
        var spec = Fedct_V1_JobSpec.defaults
        spec.rounds = 4
        spec.minSites = 2
        spec.strategy.name = "fedadam"
        spec.encoder.width = 2
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        var submitted: Fedct_V1_JobStatus?
        for _ in 0..<300 where submitted == nil {  // up to 30 s: a loaded 2-core machine starts the coordinator slowly
            submitted = try? await admin.submit(spec)
            if submitted == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let job = try XCTUnwrap(submitted).jobID
        for name in ["site-1", "site-2"] {
            let siteConfig = try harness.write("""
                coordinator: {address: "localhost:\(port)"}
                tls: {ca: pki/\(name)/ca.pem, cert: pki/\(name)/cert.pem, key: pki/\(name)/key.pem}
                data: {dir: data/\(name)}
                threads: 1
                state_dir: state-\(name)
                """, to: "\(name).yaml")
            try harness.start("fedct-site", ["--config", siteConfig, "--exit-after-job"], label: name)
        }

        func status() async -> Fedct_V1_JobStatus? { try? await admin.job(job) }
        var before: Fedct_V1_JobStatus?
        let firstDeadline = Date().addingTimeInterval(120)
        while Date() < firstDeadline {
            if let current = await status(), current.rounds.count >= 1 { before = current; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let committed = try XCTUnwrap(before, "no round was committed before the kill\n\(harness.log("coordinator-1"))").rounds
        kill(coordinator.processIdentifier, SIGKILL)
        coordinator.waitUntilExit()

        coordinator = try harness.start("fedct-coordinator", ["--config", config], label: "coordinator-2")
        var after: Fedct_V1_JobStatus?
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if let current = await status(), current.state == .succeeded || current.state == .failed { after = current; break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let final = try XCTUnwrap(after, "the job did not end after the restart\n\(harness.log("coordinator-2"))\n\(harness.log("site-1"))")
        XCTAssertEqual(final.state, .succeeded, final.message)
        XCTAssertEqual(final.rounds.map(\.round), [1, 2, 3, 4])
        for record in committed {
            XCTAssertEqual(final.rounds[Int(record.round) - 1], record, "committed round \(record.round) changed after the restart")
        }
        XCTAssertTrue(harness.log("coordinator-2").contains("resuming job"), harness.log("coordinator-2"))
        XCTAssertTrue(final.rounds.allSatisfy { !$0.optimizerStateSha256.isEmpty }, "FedAdam's moments are kept with every round")
    }
}

// Multi-process tests of fedctl's --json output: every command family prints one JSON document (job watch: one per line),
// parsed here from the real executable's standard output; job watch exits with the job's final state.
import Crypto
import FedCTCore
import FedCTData
import FedCTProto
import FedCTStorage
import Foundation
import XCTest

final class FedctlJSONProcessTests: XCTestCase {
    /// Runs fedctl; returns its exit status and standard output (standard error kept apart, for messages).
    private func fedctl(_ harness: ProcessHarness, _ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try ProcessHarness.executable("fedctl")
        process.arguments = arguments
        process.currentDirectoryURL = harness.folder
        let out = harness.folder.appending(path: "fedctl-\(UUID().uuidString.prefix(8))")
        try Data().write(to: URL(fileURLWithPath: out.path + ".out"))
        try Data().write(to: URL(fileURLWithPath: out.path + ".err"))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out.path + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: out.path + ".err"))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            XCTFail("fedctl \(arguments) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOfFile: out.path + ".out", encoding: .utf8),
                try String(contentsOfFile: out.path + ".err", encoding: .utf8))
    }

    /// Runs fedctl, expects exit 0, and parses its whole standard output as one JSON object.
    private func json(_ harness: ProcessHarness, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let run = try fedctl(harness, arguments)
        XCTAssertEqual(run.status, 0, "fedctl \(arguments.joined(separator: " ")): \(run.stderr)", file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                             "fedctl \(arguments.joined(separator: " ")) printed no JSON object: \(run.stdout)", file: file, line: line)
    }

    func testOfflineCommandsPrintOneJSONDocument() throws {
        let harness = try ProcessHarness()
        let pki = harness.folder.appending(path: "pki").path
        let provisioned = try json(harness, ["provision", "--out", pki, "--site", "site-1", "--site", "site-2", "--json"])
        XCTAssertEqual(provisioned["sites"] as? [String], ["site-1", "site-2"])
        XCTAssertEqual(provisioned["admins"] as? [String], ["admin"])
        let renewed = try json(harness, ["provision", "renew", "--ca", "\(pki)/ca", "--name", "site-1", "--role", "site", "--out", "\(pki)/site-1", "--json"])
        let replaced = try XCTUnwrap(renewed["replaced_serial"] as? String)
        XCTAssertNotEqual(renewed["serial"] as? String, replaced)
        let revoked = try json(harness, ["provision", "revoke", "--ca", "\(pki)/ca", "--serial", replaced, "--json"])
        XCTAssertEqual(revoked["changed"] as? Bool, true)
        XCTAssertEqual(revoked["revoked_count"] as? Int, 1)
        let again = try json(harness, ["provision", "revoke", "--ca", "\(pki)/ca", "--serial", replaced, "--json"])
        XCTAssertEqual(again["changed"] as? Bool, false)

        let data = harness.folder.appending(path: "data").path
        let synthesized = try json(harness, ["synth", "--sites", "1", "--patients", "6", "--size", "16", "--out", data, "--json"])
        XCTAssertEqual(synthesized["patients_per_site"] as? [Int], [6])
        let volume = try XCTUnwrap(FileManager.default.enumerator(atPath: data)?.compactMap { $0 as? String }.first { $0.hasSuffix(".nii.gz") })
        let inspected = try json(harness, ["data", "inspect", "\(data)/\(volume)", "--json"])
        XCTAssertEqual(inspected["shape"] as? [Int], [16, 16, 16])

        let jobSpec = try harness.write("encoder: {width: 2}\ntte: {rank: 4}\ntraining: {volume_size: 16}\n", to: "job.yaml")
        let modelPath = harness.folder.appending(path: "initial.safetensors").path
        let initialised = try json(harness, ["model", "init", "--job-spec", jobSpec, "--out", modelPath, "--json"])
        XCTAssertEqual(initialised["architecture"] as? String, "resnet3d")
        let modelBytes = try Data(contentsOf: URL(fileURLWithPath: modelPath))
        XCTAssertEqual(initialised["bytes"] as? Int, modelBytes.count)
        XCTAssertEqual(initialised["model_sha256"] as? String, SHA256.hex(modelBytes))
        let exported = try json(harness, ["model", "export", "--model", modelPath, "--out", harness.folder.appending(path: "monai.safetensors").path, "--json"])
        XCTAssertEqual(exported["classifier"] as? String, "fc")
        XCTAssertGreaterThan(exported["classifier_outputs"] as? Int ?? 0, 0)

        let simulated = try json(harness, ["simulate", "secagg", "--sites", "3", "--params", "1000", "--json"])
        XCTAssertEqual(simulated["sum_exact"] as? Bool, true)

        let predictions = try harness.write("time,event,risk\n1,1,0.9\n2,0,0.5\n3,1,0.4\n4,1,0.1\n", to: "predictions.csv")
        let metrics = try json(harness, ["metrics", "--input", predictions, "--bootstrap", "0", "--json"])
        XCTAssertNotNil(metrics["metrics"], "\(metrics)")

        var ledger = try PrivacyBudgetLedger.open(at: harness.folder.appending(path: "privacy-budget.json"))
        try ledger.record([PrivacySpend(jobID: "job-0001", round: 1, level: .site, samplingRate: 1, noiseMultiplier: 2, steps: 1, delta: 1e-5)])
        let budget = try json(harness, ["privacy", "budget", harness.folder.path, "--json"])
        XCTAssertEqual((budget["jobs"] as? [[String: Any]])?.first?["job"] as? String, "job-0001")
        XCTAssertGreaterThan(budget["epsilon_total"] as? Double ?? 0, 0)
    }

    func testJobCommandsPrintJSONAndWatchStreamsNDJSONUntilTheJobEnds() async throws {
        let harness = try ProcessHarness()
        let names = ["site-1", "site-2"]
        let federation = try harness.startFederation(sites: names, patientsPerSite: [6, 6], seed: 23)
        let admin = ["--coordinator", federation.address, "--credentials", harness.folder.appending(path: "pki/admin").path]
        for _ in 0..<100 where (try? await federation.admin.list()) == nil { try await Task.sleep(for: .milliseconds(100)) }
        let specFile = try harness.write("""
            name: json-job
            rounds: 2
            min_sites: 2
            encoder: {depth: 10, width: 4}
            training: {local_epochs: 1, batch_size: 4, volume_size: 16}
            secure_aggregation: {clip_norm: 10, max_examples_per_site: 64}
            """, to: "job.yaml")
        let submitted = try json(harness, ["job", "submit", specFile, "--json"] + admin)
        let job = try XCTUnwrap(submitted["jobId"] as? String, "\(submitted)")
        let queued = try XCTUnwrap(try json(harness, ["job", "submit", specFile, "--json"] + admin)["jobId"] as? String)
        let cancelled = try json(harness, ["job", "cancel", queued, "--json"] + admin)
        XCTAssertEqual(cancelled["state"] as? String, "CANCELLED")
        let cancelledWatch = try fedctl(harness, ["job", "watch", queued, "--json"] + admin)
        XCTAssertEqual(cancelledWatch.status, 2, "watch exits 2 for a cancelled job: \(cancelledWatch.stderr)")

        for name in names { try federation.startSite(name) }
        let watch = try fedctl(harness, ["job", "watch", job, "--json", "--interval", "0.2"] + admin, timeout: 300)
        XCTAssertEqual(watch.status, 0, "watch exits 0 when the job succeeded: \(watch.stderr)\n\(harness.log("coordinator"))")
        let updates = try watch.stdout.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not one JSON object per line: \(line)")
        }
        XCTAssertEqual(updates.last?["state"] as? String, "SUCCEEDED")
        let phases = Set(updates.compactMap { $0["phase"] as? String })
        XCTAssertTrue(phases.contains { $0.hasPrefix("secure aggregation") || $0 == "training" }, "phases seen: \(phases)")
        let progress = updates.flatMap { ($0["siteProgress"] as? [[String: Any]]) ?? [] }
        XCTAssertTrue(progress.contains { Int($0["bytesDown"] as? String ?? "0") ?? 0 > 0 }, "no site's download was counted while live")

        let plain = try fedctl(harness, ["job", "watch", job] + admin)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.hasPrefix("\(job) succeeded 2/2 rounds; completed 2 rounds"), "one plain line when not on a terminal: \(plain.stdout)")

        let status = try json(harness, ["job", "status", job, "--json"] + admin)
        XCTAssertEqual((status["rounds"] as? [[String: Any]])?.count, 2)
        let submittedAt = try XCTUnwrap(status["submittedUnixSeconds"] as? Double), startedAt = try XCTUnwrap(status["startedUnixSeconds"] as? Double)
        XCTAssertGreaterThanOrEqual(startedAt, submittedAt)
        let listed = try json(harness, ["job", "list", "--json"] + admin)
        XCTAssertEqual((listed["jobs"] as? [[String: Any]])?.compactMap { $0["jobId"] as? String }, [job, queued])

        let waited = try fedctl(harness, ["job", "wait", job, "--json"] + admin)
        XCTAssertEqual(waited.status, 0, waited.stderr)
        let waitedLines = try waited.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(waitedLines.count, 3, "two round records and the final status: \(waited.stdout)")
        XCTAssertEqual(waitedLines.last??["state"] as? String, "SUCCEEDED")

        let model = harness.folder.appending(path: "model.safetensors").path
        let exported = try json(harness, ["job", "export", "--job", job, "--out", model, "--json"] + admin)
        XCTAssertEqual(exported["round"] as? Int, 2)
        XCTAssertEqual(exported["model_sha256"] as? String, (status["rounds"] as? [[String: Any]])?.last?["modelSha256"] as? String)
        let initial = harness.folder.appending(path: "initial.safetensors").path
        let fetched = try json(harness, ["model", "fetch", "--job", job, "--round", "0", "--out", initial, "--json"] + admin)
        XCTAssertEqual(fetched["model_sha256"] as? String, status["initialModelSha256"] as? String)

        let evaluated = try json(harness, ["evaluate", "--job-spec", specFile, "--model", "federated=\(model)", "--model", "initial=\(initial)",
                                           "--data", harness.folder.appending(path: "data/site-1").path, "--data", harness.folder.appending(path: "data/site-2").path,
                                           "--threads", "1", "--json"])
        XCTAssertEqual((evaluated["models"] as? [[String: Any]])?.compactMap { $0["label"] as? String }, ["federated", "initial"])
    }
}

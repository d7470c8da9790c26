// Deployment recipes: the Containerfiles pass the linter (and their runtime packages cover the built daemons' libraries),
// the Kubernetes overlays render, validate against the schemas and carry `fedctl provision --kubernetes`'s kit byte for
// byte, the container health check probes a real daemon's /healthz, and a site asking for an unusable device stops at start-up.
import FedCTIdentity
import Foundation
import XCTest

final class DeploymentRecipeTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../..").standardized

    /// Runs `command` with `arguments` from the repository root; its exit status and combined output.
    private func execute(_ command: String, _ arguments: [String], timeout: TimeInterval = 600) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.currentDirectoryURL = Self.repository
        let output = FileManager.default.temporaryDirectory.appending(path: "fedct-deploy-\(UUID().uuidString).log")
        try Data().write(to: output)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
    }

    func testContainerRecipesPassTheLinterAndTheirRuntimePackagesCoverTheDaemonsLibraries() throws {
        let binaries = try ProcessHarness.executable("fedct-site").deletingLastPathComponent().path
        let lint = try execute("python3", ["Scripts/lint-containers.py", "--binaries", binaries])
        XCTAssertEqual(lint.status, 0, lint.output)
        XCTAssertTrue(lint.output.contains("0 problem(s) in 3 check(s)"), lint.output)
    }

    func testTheLinterRejectsARootImageOnAMovingTagThatDownloads() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-lint-\(UUID().uuidString)/fedct-site")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try """
            FROM swift:latest AS build
            RUN swift build -c release --product fedct-site
            FROM debian:bookworm-slim
            ADD https://example.org/fedct-site /usr/local/bin/fedct-site
            RUN apt-get update && apt-get install -y libtorch1.13
            ENTRYPOINT ["/usr/local/bin/fedct-site"]
            """.write(to: folder.appending(path: "Containerfile"), atomically: true, encoding: .utf8)
        let lint = try execute("python3", ["Scripts/lint-containers.py", folder.appending(path: "Containerfile").path])
        XCTAssertEqual(lint.status, 1, lint.output)
        for problem in ["'swift:latest' is not pinned", "must be Debian 12 slim pinned", "ADD of a URL", "--no-install-recommends",
                        "installs packages outside install-deps.sh runtime", "has no USER", "VOLUME /var/lib/fedct", "no HEALTHCHECK",
                        "--static-swift-stdlib"] {
            XCTAssertTrue(lint.output.contains(problem), "expected '\(problem)' in:\n\(lint.output)")
        }
    }

    func testKubernetesOverlaysRenderValidateAndCarryTheProvisionedKitByteForByte() throws {
        let fedctl = try ProcessHarness.executable("fedctl").path
        let check = try execute("bash", ["Scripts/check-kubernetes.sh", fedctl])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains(" 0 failed"), check.output)
        for participant in ["coordinator", "hospital-a", "hospital-b"] {
            XCTAssertTrue(check.output.contains("ok    \(participant): Secret fedct-kit is fedctl provision's kit byte for byte"), check.output)
            XCTAssertTrue(check.output.contains("ok    \(participant): Secret/fedct-kit is valid for Kubernetes 1.37.0"), check.output)
        }
        XCTAssertTrue(check.output.contains("ok    hospital-a: egress only to one address on the coordinator's port 7443 and to DNS"), check.output)
        XCTAssertTrue(check.output.contains("ok    hospital-b: data.dir /data is mounted read-only"), check.output)
    }

    func testTheContainerHealthCheckProbesTheDaemonsHealthz() throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: [], admins: []),
                                  into: root.appending(path: "pki"))
        let metrics = try ProcessHarness.freePort()
        let config = try harness.write("""
            listen: 127.0.0.1:0
            port_file: \(root.path)/coordinator.port
            state_dir: \(root.path)/state
            tls: {ca: pki/coordinator/ca.pem, cert: pki/coordinator/cert.pem, key: pki/coordinator/key.pem}
            metrics: {listen: "127.0.0.1:\(metrics)"}
            """, to: "coordinator.yaml")
        let coordinator = try harness.start("fedct-coordinator", ["--config", config], label: "coordinator")
        _ = try harness.waitForFile(root.appending(path: "coordinator.port"))
        let healthy = try execute("bash", ["Deployments/containers/healthcheck.sh", "\(metrics)"], timeout: 30)
        XCTAssertEqual(healthy.status, 0, healthy.output + harness.log("coordinator"))
        coordinator.terminate()
        coordinator.waitUntilExit()
        let stopped = try execute("bash", ["Deployments/containers/healthcheck.sh", "\(metrics)"], timeout: 30)
        XCTAssertEqual(stopped.status, 1, stopped.output)
        XCTAssertTrue(stopped.output.contains("unhealthy: nothing listens on 127.0.0.1:\(metrics)"), stopped.output)
    }

    func testASiteAskingForAnUnusableCUDADeviceStopsAtStartUpNamingTheField() throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: []),
                                  into: root.appending(path: "pki"))
        try FileManager.default.createDirectory(at: root.appending(path: "data"), withIntermediateDirectories: true)
        let config = try harness.write("""
            coordinator: {address: "localhost:1"}
            tls: {ca: pki/site-1/ca.pem, cert: pki/site-1/cert.pem, key: pki/site-1/key.pem}
            data: {dir: data}
            device: cuda:7
            state_dir: state
            """, to: "site.yaml")
        let result = try harness.run("fedct-site", ["--config", config, "--connect-attempts", "1"])
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("site.yaml: field 'device' cannot be used here: cuda:7 needs CUDA"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appending(path: "state").path), "the agent stopped before writing state")
    }
}

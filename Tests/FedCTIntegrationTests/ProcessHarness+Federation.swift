// ProcessHarness+Federation: a provisioned consortium with synthetic data and a running coordinator, for multi-process tests.
import FedCTAdmin
import FedCTData
import FedCTIdentity
import FedCTProto
import FedCTRPC
import Foundation
import XCTest

extension ProcessHarness {
    /// A coordinator on a fixed loopback port, its admin client and the sites' provisioned folders.
    struct Federation {
        let harness: ProcessHarness
        let port: Int
        let coordinatorConfig: String
        let admin: AdminClient
        /// The coordinator process `startFederation` started.
        let coordinator: Process

        var address: String { "localhost:\(port)" }

        /// Submits `spec`, retrying while the coordinator is still starting (up to 30 s: it loads libtorch, slow on a busy machine).
        func submit(_ spec: Fedct_V1_JobSpec) async throws -> Fedct_V1_JobStatus {
            for _ in 0..<300 {
                if let status = try? await admin.submit(spec) { return status }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try await admin.submit(spec)
        }

        /// Writes `<name>.yaml` for a site agent (state in `state-<name>`, plus `extra` YAML lines) and starts it.
        @discardableResult
        func startSite(_ name: String, extra: String = "", exitAfterJob: Bool = true) throws -> Process {
            let config = try harness.write("""
                coordinator: {address: "\(address)"}
                tls: {ca: pki/\(name)/ca.pem, cert: pki/\(name)/cert.pem, key: pki/\(name)/key.pem}
                data: {dir: data/\(name)}
                threads: 1
                state_dir: state-\(name)
                \(extra)
                """, to: "\(name).yaml")
            return try harness.start("fedct-site", ["--config", config] + (exitAfterJob ? ["--exit-after-job"] : []), label: name)
        }

        /// Starts another coordinator with the same config (same port, same state folder), e.g. after killing the first.
        @discardableResult
        func restartCoordinator(label: String) throws -> Process {
            try harness.start("fedct-coordinator", ["--config", coordinatorConfig], label: label)
        }

        /// Polls the job until it ends or `timeout` passes.
        func waitForEnd(_ job: String, timeout: TimeInterval = 180) async throws -> Fedct_V1_JobStatus {
            var status = try await admin.job(job)
            let deadline = Date().addingTimeInterval(timeout)
            while ![.succeeded, .failed, .cancelled].contains(status.state) && Date() < deadline {
                try await Task.sleep(for: .milliseconds(300))
                status = try await admin.job(job)
            }
            return status
        }
    }

    /// Provisions `sites` and `admins` (the first is the federation's admin client), writes synthetic data for the sites
    /// and starts a coordinator; `revocationList` (relative to the harness folder) becomes its `tls.revocation_list`;
    /// `extra` YAML lines are appended to its coordinator.yaml.
    func startFederation(sites: [String], patientsPerSite: [Int], seed: UInt64, label: String = "coordinator",
                         admins: [String] = ["admin"], revocationList: String? = nil, extra: String = "", seriesPerStudy: Int = 1) throws -> Federation {
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: sites, admins: admins),
                                  into: folder.appending(path: "pki"))
        var consortium = SyntheticConsortium(patientsPerSite: patientsPerSite, volumeSize: 16, seed: seed)
        consortium.maxSeriesPerStudy = seriesPerStudy
        try consortium.write(to: folder.appending(path: "data"))
        let port = try Self.freePort()
        let config = try write("""
            listen: 127.0.0.1:\(port)
            state_dir: \(folder.path)/state
            tls: {ca: pki/coordinator/ca.pem, cert: pki/coordinator/cert.pem, key: pki/coordinator/key.pem\(revocationList.map { ", revocation_list: \($0)" } ?? "")}
            \(extra)
            """, to: "coordinator.yaml")
        let coordinator = try start("fedct-coordinator", ["--config", config], label: label)
        let admin = try AdminClient(address: "localhost:\(port)", tls: TLSConfig.load(
            caFile: folder.appending(path: "pki/\(admins[0])/ca.pem").path, certificateFile: folder.appending(path: "pki/\(admins[0])/cert.pem").path,
            keyFile: folder.appending(path: "pki/\(admins[0])/key.pem").path))
        return Federation(harness: self, port: port, coordinatorConfig: config, admin: admin, coordinator: coordinator)
    }
}

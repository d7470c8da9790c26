// Tests of `fedctl provision --kubernetes`'s kits: container paths in the configurations, and the kit as a Secret manifest.
@testable import FedCTIdentity
import Foundation
import XCTest

final class KubernetesKitTests: XCTestCase {
    func testKubernetesKitsUseContainerPathsAndCarryEveryKitFileAsASecret() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-kube-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let plan = ConsortiumPlan(name: "Consortium \"A\"", coordinatorHosts: ["fedct.example.org"], sites: ["hospital-a"], admins: ["alice"])
        try Provisioner.provision(plan, into: folder, layout: .kubernetes)

        let site = try String(contentsOf: folder.appending(path: "hospital-a/site.yaml"), encoding: .utf8)
        for line in ["address: fedct.example.org:7443", "dir: /data", "state_dir: /var/lib/fedct", "device: cpu", "listen: 0.0.0.0:9464"] {
            XCTAssertTrue(site.contains(line), "\(line) in\n\(site)")
        }
        let coordinator = try String(contentsOf: folder.appending(path: "coordinator/coordinator.yaml"), encoding: .utf8)
        XCTAssertTrue(coordinator.contains("state_dir: /var/lib/fedct"), coordinator)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appending(path: "alice/kubernetes").path), "admins run fedctl, not a pod")

        for name in ["coordinator", "hospital-a"] {
            let secretURL = folder.appending(path: "\(name)/kubernetes/kit-secret.yaml")
            let attributes = try FileManager.default.attributesOfItem(atPath: secretURL.path)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "the Secret holds the key")
            let manifest = try String(contentsOf: secretURL, encoding: .utf8)
            XCTAssertTrue(manifest.contains("kind: Secret\nmetadata:\n  name: fedct-kit\n"), manifest)
            XCTAssertTrue(manifest.contains("fedct.org/consortium: \"Consortium \\\"A\\\"\""), manifest)
            // data: every regular file of the kit folder, base64 of its exact bytes, sorted by name.
            let data = try XCTUnwrap(manifest.components(separatedBy: "\ndata:\n").last)
            let entries = data.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) } }
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.appending(path: name).path)
                .filter { $0 != "kubernetes" }.sorted()
            XCTAssertEqual(entries.map { $0[0] }, files)
            for entry in entries {
                let bytes = try Data(contentsOf: folder.appending(path: "\(name)/\(entry[0])"))
                XCTAssertEqual(Data(base64Encoded: entry[1]), bytes, "\(name)/\(entry[0])")
            }
        }
    }

    func testHostKitsHaveNoKubernetesManifest() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-kube-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Provisioner.provision(ConsortiumPlan(name: "c", coordinatorHosts: ["localhost"], sites: ["s"], admins: []), into: folder)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appending(path: "s/kubernetes").path))
        XCTAssertTrue(try String(contentsOf: folder.appending(path: "s/site.yaml"), encoding: .utf8).contains("state_dir: state"))
    }
}

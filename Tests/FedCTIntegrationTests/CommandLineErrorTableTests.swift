// CommandLineErrorTableTests: every command of the three executables, run with missing, unreadable and malformed inputs
// and an unreachable coordinator, must fail with a readable message (naming the input) and never print framework text.
import FedCTData
import FedCTIdentity
import Foundation
import XCTest

final class CommandLineErrorTableTests: XCTestCase {
    /// Text that only a Foundation, Swift runtime or gRPC dump prints; no message of ours contains it.
    static let frameworkText = [
        "NSCocoaErrorDomain", "NSPOSIXErrorDomain", "Error Domain=", "NSUnderlyingError", "NSFilePath", "UserInfo=",
        "failed to connect to all addresses", "last error:", "ipv4:", "ipv6:", "UNAVAILABLE:", "DEADLINE_EXCEEDED:",
        "Swift.DecodingError", "dataCorrupted(", "keyNotFound(", "typeMismatch(", "Fatal error", "Stack dump", "Illegal instruction",
    ]

    /// One command line that must fail: the executable, its arguments, and what the message must mention.
    struct Case {
        let executable: String
        let arguments: [String]
        let mentions: String?
        var label: String { "\(executable) \(arguments.joined(separator: " "))" }
    }

    func testEveryCommandFailsReadablyOnBadInputsAndAnUnreachableCoordinator() throws {
        let harness = try ProcessHarness()
        let root = harness.folder
        try Provisioner.provision(ConsortiumPlan(name: "it", coordinatorHosts: ["localhost"], sites: ["site-1"], admins: ["admin"]), into: root.appending(path: "pki"))
        let path = { (name: String) in root.appending(path: name).path }
        // Inputs: a path that does not exist, a folder where a file is expected (unreadable as a file even for root,
        // which these tests run as), binary garbage, and text that is not what the command expects.
        let missing = path("missing.file")
        let folder = path("a-folder")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let binary = path("binary.bin")
        try Data((0..<4096).map { [0xff, 0x00, 0xfe, 0x9c, 0x13][$0 % 5] as UInt8 }).write(to: URL(fileURLWithPath: binary))
        let text = try harness.write("this: [is not, what: you expect\n", to: "malformed.yaml")
        let underFile = "\(binary)/cannot-create-here"
        let admin = ["--credentials", path("pki/admin")]
        let unreachable = ["--coordinator", "127.0.0.1:1"] + admin
        let spec = try harness.write("encoder: {width: 2}\ntte: {rank: 4}\ntraining: {volume_size: 16}\n", to: "job.yaml")
        let tls = "tls: {ca: \(path("pki/site-1/ca.pem")), cert: \(path("pki/site-1/cert.pem")), key: \(path("pki/site-1/key.pem"))}"
        try SyntheticConsortium(patientsPerSite: [4], volumeSize: 16, seed: 1).write(to: root.appending(path: "data"))
        let siteUnreachable = try harness.write("coordinator: {address: \"127.0.0.1:1\"}\n\(tls)\ndata: {dir: \(path("data/site-1"))}\nstate_dir: \(path("site-state"))\n", to: "site-unreachable.yaml")
        let coordinatorTLS = "tls: {ca: \(path("pki/coordinator/ca.pem")), cert: \(path("pki/coordinator/cert.pem")), key: \(path("pki/coordinator/key.pem"))}"
        let coordinatorUnwritable = try harness.write("listen: 127.0.0.1:0\nstate_dir: \(underFile)\n\(coordinatorTLS)\n", to: "coordinator-unwritable.yaml")

        var cases: [Case] = []
        func fedctl(_ arguments: [String], mentions: String?) { cases.append(Case(executable: "fedctl", arguments: arguments, mentions: mentions)) }
        // Every file input of every command: missing, a folder, binary, malformed text.
        for bad in [missing, folder, binary, text] {
            fedctl(["provision", "create", bad, "--out", path("pki-\(UUID().uuidString.prefix(6))")], mentions: bad)
            fedctl(["provision", "revoke", "--ca", bad, "--serial", "01"], mentions: bad)
            fedctl(["provision", "renew", "--ca", bad, "--name", "site-1", "--role", "site", "--out", path("renewed")], mentions: bad)
            fedctl(["model", "export", "--model", bad, "--out", path("export.safetensors")], mentions: bad)
            fedctl(["model", "init", "--job-spec", bad, "--out", path("init.safetensors")], mentions: bad)
            fedctl(["metrics", "--input", bad, "--bootstrap", "0"], mentions: bad)
            fedctl(["data", "inspect", bad], mentions: bad == folder ? nil : bad)
            fedctl(["privacy", "budget", bad], mentions: bad)
            fedctl(["job", "submit", bad, "--coordinator", "127.0.0.1:1"] + admin, mentions: bad)
            fedctl(["evaluate", "--job-spec", bad, "--model", "m=\(missing)", "--data", path("data/site-1"), "--threads", "1"], mentions: bad)
            fedctl(["experiment", "tte", "--job-spec", bad, "--data", path("data/site-1"), "--threads", "1"], mentions: bad)
            fedctl(["experiment", "hlip", "--job-spec", bad, "--data", path("data/site-1"), "--threads", "1"], mentions: bad)
            cases.append(Case(executable: "fedct-site", arguments: ["--config", bad], mentions: bad))
            cases.append(Case(executable: "fedct-site", arguments: ["check", "--config", bad], mentions: bad))
            cases.append(Case(executable: "fedct-coordinator", arguments: ["--config", bad], mentions: bad))
        }
        // An arm the experiments do not know.
        fedctl(["experiment", "tte", "--job-spec", spec, "--data", path("data/site-1"), "--arms", "fedavg,federated"], mentions: "'federated'")
        // A TTE job spec where HLIP's experiment needs an HLIP one.
        fedctl(["experiment", "hlip", "--job-spec", spec, "--data", path("data/site-1"), "--threads", "1"], mentions: spec)
        // Credentials that are missing or not a credentials folder.
        for bad in [missing, binary] {
            fedctl(["job", "list", "--coordinator", "127.0.0.1:1", "--credentials", bad], mentions: bad)
        }
        // Outputs that cannot be written.
        fedctl(["synth", "--sites", "1", "--patients", "4", "--size", "16", "--out", underFile], mentions: binary)
        fedctl(["provision", "create", "--out", underFile, "--site", "site-1"], mentions: binary)
        fedctl(["model", "init", "--job-spec", spec, "--out", underFile], mentions: binary)
        // An unreachable coordinator, for every command that calls it.
        fedctl(["job", "submit", spec] + unreachable, mentions: "127.0.0.1:1")
        for command in [["job", "list"], ["job", "status", "job-0001"], ["job", "wait", "job-0001"], ["job", "watch", "job-0001"],
                        ["job", "cancel", "job-0001"], ["job", "export", "--job", "job-0001", "--out", path("m.safetensors")],
                        ["model", "fetch", "--job", "job-0001", "--out", path("m.safetensors")]] {
            fedctl(command + unreachable, mentions: "127.0.0.1:1")
        }
        cases.append(Case(executable: "fedct-site", arguments: ["--config", siteUnreachable, "--connect-attempts", "1"], mentions: "127.0.0.1:1"))
        cases.append(Case(executable: "fedct-coordinator", arguments: ["--config", coordinatorUnwritable], mentions: binary))

        var failures: [String] = []
        for test in cases {
            let run = try harness.run(test.executable, test.arguments, timeout: 60)
            let output = run.output.trimmingCharacters(in: .whitespacesAndNewlines)
            var problems: [String] = []
            if run.status == 0 { problems.append("exit status 0") }
            if output.isEmpty { problems.append("no message") }
            let dumps = Self.frameworkText.filter { output.contains($0) }
            if !dumps.isEmpty { problems.append("framework text \(dumps)") }
            if let mentions = test.mentions, !output.contains(mentions) { problems.append("does not name \(mentions)") }
            if !problems.isEmpty { failures.append("\(test.label)\n  \(problems.joined(separator: "; "))\n  output: \(output.prefix(600))") }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(cases.count) command lines fail unreadably:\n\(failures.joined(separator: "\n"))")
    }
}

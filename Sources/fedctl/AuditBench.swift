// fedctl audit bench: the egress ledger's cost per entry and per round — signing and fsync beside a plain JSON-lines baseline.
import ArgumentParser
import Crypto
import FedCTAudit
import FedCTIdentity
import Foundation

extension AuditCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Appends ENTRIES intent/outcome/receipt triples to a signed ledger in a temporary folder (ECDSA P-256 per entry, \
            fsync per entry) and, in the same run, the same entries as plain unsigned JSON lines without fsync (the old \
            egress.jsonl); prints the time per entry of each, their ratio, and the ledger's cost per round for CALLS per round \
            beside ROUND_SECONDS.
            """)

        @Option(name: .long, help: "Calls to record (each: intent, outcome, receipt).")
        var calls = 1000

        @Option(name: .long, help: "RPC calls a site makes per round (a secure round of the demo: about 40, polls included).")
        var callsPerRound = 40

        @Option(name: .long, help: "The round time to compare with, in seconds (the demo's secure round).")
        var roundSeconds = 17.0

        @Option(name: .long, help: "Folder for the temporary ledgers (on the disk the site's state_dir uses).")
        var directory = FileManager.default.temporaryDirectory.path

        func run() throws {
            let folder = URL(fileURLWithPath: directory).appending(path: "fedct-ledger-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let authority = try ConsortiumAuthority(consortium: "bench")
            let site = try authority.issue(name: "site-1", role: .site)
            let coordinator = try authority.issue(name: "coordinator", role: .coordinator)
            let siteSigner = try CertificateKeySigner(privateKeyPEM: site.privateKeyPEM, source: "bench")
            let coordinatorSigner = try CertificateKeySigner(privateKeyPEM: coordinator.privateKeyPEM, source: "bench")
            let request = [UInt8](repeating: 7, count: 200)
            let receipt = try Receipts.sign(site: "site-1", method: "/fedct.v1.Site/SecAggStep", kind: "secagg-step", jobID: "job-1", round: 1,
                                            attempt: 1, bytes: request.count, sha256: SHA256.hex(request), certificatePEM: coordinator.certificatePEM) {
                try coordinatorSigner.sign($0)
            }
            var intent = EgressEntry(type: .intent)
            intent.kind = "secagg-step"
            intent.method = "/fedct.v1.Site/SecAggStep"
            intent.jobID = "job-1"
            intent.round = 1
            intent.bytes = request.count
            intent.sha256 = SHA256.hex(request)

            // Signed, fsynced ledger.
            let file = try EgressLedgerFile(folder: folder.appending(path: "signed"), identity: {
                LedgerIdentity(certificatePEM: site.certificatePEM) { try siteSigner.sign($0) }
            }, agentVersion: "bench", policy: [:])
            let clock = ContinuousClock()
            let signed = try clock.measure {
                for _ in 0..<calls {
                    let sealed = try file.append(intent)
                    var outcome = EgressEntry(type: .outcome)
                    outcome.of = sealed.entry.seq
                    outcome.status = "sent"
                    try file.append(outcome)
                    try file.append(.receipt(of: sealed.entry.seq, receipt, warning: nil))
                }
            }
            // Baseline: the same entries as plain JSON lines, unsigned, not fsynced.
            let plainURL = folder.appending(path: "plain.jsonl")
            guard FileManager.default.createFile(atPath: plainURL.path, contents: nil) else { throw ValidationError("cannot write in \(directory)") }
            let handle = try FileHandle(forWritingTo: plainURL)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let plain = try clock.measure {
                for index in 0..<calls {
                    var outcome = EgressEntry(type: .outcome)
                    outcome.of = index
                    for entry in [intent, outcome, EgressEntry.receipt(of: index, receipt, warning: nil)] {
                        try handle.write(contentsOf: try encoder.encode(entry) + [0x0A])
                    }
                }
            }
            try handle.close()
            // Signing alone.
            let body = try EgressLedgerChain.canonical(intent)
            let signing = try clock.measure { for _ in 0..<(3 * calls) { _ = try siteSigner.sign(body) } }
            func perEntry(_ duration: Duration) -> Double {
                (Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18) / Double(3 * calls)
            }
            let signedEntry = perEntry(signed), plainEntry = perEntry(plain), signEntry = perEntry(signing)
            let perRound = signedEntry * Double(3 * callsPerRound)
            print(String(format: "signed ledger (sign + fsync per entry): %.3f ms per entry", signedEntry * 1e3))
            print(String(format: "  of which ECDSA P-256 signing:        %.3f ms per entry", signEntry * 1e3))
            print(String(format: "plain JSON lines (baseline, no fsync): %.4f ms per entry  → signed/plain = %.1f×", plainEntry * 1e3, signedEntry / plainEntry))
            print(String(format: "per round (%d calls = %d entries): %.1f ms = %.4f of a %.1f s round", callsPerRound, 3 * callsPerRound,
                         perRound * 1e3, perRound / roundSeconds, roundSeconds))
        }
    }
}

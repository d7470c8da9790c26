// fedctl audit bench: the egress ledger's cost per entry and per round — signing and fsync beside a plain JSON-lines baseline.
import ArgumentParser
import Crypto
import FedCTAudit
import FedCTIdentity
import FedCTProtocol
import Foundation

extension AuditCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Records CALLS calls in a signed ledger in a temporary folder as the site does (intent signed and fsynced, outcome \
            and receipt signed, archive of the request) and, in the same run, as the unsigned ledger before it did (one JSON \
            line per call, fsynced); prints the time per call of each, their ratio, ECDSA signing alone, and the signed \
            ledger's cost per round for CALLS_PER_ROUND calls beside ROUND_SECONDS, or, with --ledger, for every training \
            round of a real site ledger (the demo's state/site-1) beside that round's own time.
            """)

        @Option(name: .long, help: "Calls to record (each: intent, outcome, receipt).")
        var calls = 1000

        @Option(name: .long, help: "RPC calls a site makes per round (a secure round of the demo: about 40, polls included).")
        var callsPerRound = 40

        @Option(name: .long, help: "The round time to compare with, in seconds (the demo's secure round).")
        var roundSeconds = 17.0

        @Option(name: .long, help: "Folder for the temporary ledgers (on the disk the site's state_dir uses).")
        var directory = FileManager.default.temporaryDirectory.path

        @Option(name: .long, help: "A site's state_dir from a real run (the demo's state/site-1): calls per round and round times come from its egress.jsonl.")
        var ledger: String?

        func run() throws {
            let folder = URL(fileURLWithPath: directory).appending(path: "fedct-ledger-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let authority = try ConsortiumAuthority(consortium: "bench")
            let site = try authority.issue(name: "site-1", role: .site)
            let coordinator = try authority.issue(name: "coordinator", role: .coordinator)
            let siteSigner = try CertificateKeySigner(privateKeyPEM: site.privateKeyPEM, source: "bench")
            let coordinatorSigner = try CertificateKeySigner(privateKeyPEM: coordinator.privateKeyPEM, source: "bench")
            let request = [UInt8](repeating: 7, count: 200)
            let receipt = try Receipts.sign(site: "site-1", method: SiteRPC.secAggStep.path, kind: "secagg-step", jobID: "job-1", round: 1,
                                            attempt: 1, bytes: request.count, sha256: SHA256.hex(request), certificatePEM: coordinator.certificatePEM) {
                try coordinatorSigner.sign($0)
            }
            var intent = EgressEntry(type: .intent)
            intent.kind = "secagg-step"
            intent.method = SiteRPC.secAggStep.path
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
                    var entry = intent
                    entry.archive = try file.archive(request, subfolder: "messages", extension: "pb")
                    let sealed = try file.append(entry)
                    var outcome = EgressEntry(type: .outcome)
                    outcome.of = sealed.entry.seq
                    outcome.status = "sent"
                    try file.append(outcome, durable: false)
                    try file.append(.receipt(of: sealed.entry.seq, receipt, warning: nil), durable: false)
                }
            }
            // Baseline: the unsigned ledger — one JSON line per call, fsynced.
            let plainURL = folder.appending(path: "plain.jsonl")
            guard FileManager.default.createFile(atPath: plainURL.path, contents: nil) else { throw ValidationError("cannot write in \(directory)") }
            let handle = try FileHandle(forWritingTo: plainURL)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let plain = try clock.measure {
                for _ in 0..<calls {
                    try handle.write(contentsOf: try encoder.encode(intent) + [0x0A])
                    try handle.synchronize()
                }
            }
            try handle.close()
            // Signing alone.
            let body = try EgressLedgerChain.canonical(intent)
            let signing = try clock.measure { for _ in 0..<calls { _ = try siteSigner.sign(body) } }
            func perCall(_ duration: Duration) -> Double {
                (Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18) / Double(calls)
            }
            let signedCall = perCall(signed), plainCall = perCall(plain), signEntry = perCall(signing)
            let perRound = signedCall * Double(callsPerRound)
            print(String(format: "signed ledger (3 signed entries, 1 fsync per call): %.3f ms per call", signedCall * 1e3))
            print(String(format: "  ECDSA P-256 signing alone:                       %.3f ms per entry", signEntry * 1e3))
            print(String(format: "unsigned ledger (baseline, 1 fsynced line per call): %.3f ms per call  → signed/unsigned = %.2f×",
                         plainCall * 1e3, signedCall / plainCall))
            guard let ledger else {
                print(String(format: "per round (%d calls): %.1f ms = %.4f of a %.1f s round", callsPerRound, perRound * 1e3, perRound / roundSeconds, roundSeconds))
                return
            }
            try printRounds(ofLedger: ledger, signedCall: signedCall)
        }

        /// The signed ledger's cost of every training round of the ledger in `folder`, beside the round's own time.
        private func printRounds(ofLedger folder: String, signedCall: Double) throws {
            let url = URL(fileURLWithPath: folder).appending(path: "egress.jsonl")
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw ValidationError("cannot read \(url.path); pass a site's state_dir") }
            let entries = try text.split(separator: "\n").map { try EgressLedgerChain.unseal(Array($0.utf8)).entry }
            let rounds = try EgressLedgerRound.rounds(in: entries)
            guard !rounds.isEmpty else { throw ValidationError("\(url.path) has no training round") }
            for round in rounds {
                let cost = signedCall * Double(round.calls)
                print(String(format: "%@ round %d: %d calls, %.1f ms of ledger in a %.0f s round = %.4f", round.jobID, round.round, round.calls,
                             cost * 1e3, round.seconds, cost / round.seconds))
            }
            let calls = rounds.reduce(0) { $0 + $1.calls }, seconds = rounds.reduce(0) { $0 + $1.seconds }
            print(String(format: "ledger cost per round in %@: %.1f ms for %.1f calls in a %.1f s round on average = %.4f of the round time",
                         folder, signedCall * Double(calls) * 1e3 / Double(rounds.count), Double(calls) / Double(rounds.count),
                         seconds / Double(rounds.count), signedCall * Double(calls) / seconds))
        }
    }
}

// fedctl audit: a privacy reviewer's offline check of a site's egress ledger (verify) and its summary (report).
import ArgumentParser
import FedCTAudit
import FedCTCore
import FedCTIdentity
import Foundation

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify and summarise a site's signed egress ledger, offline.", subcommands: [Verify.self, Report.self, Bench.self])

    /// The options both subcommands take.
    struct Inputs: ParsableArguments {
        @Argument(help: "The site's state_dir, or a copy of its egress.jsonl, egress.head, egress-archive/ and privacy-budget.json.")
        var ledgerDirectory: String

        @Option(name: .long, help: "The consortium CA certificate (ca.pem of any start-up kit).")
        var ca: String

        func audit() throws -> (EgressLedgerAudit, URL) {
            let pem: String
            do {
                pem = try String(contentsOfFile: ca, encoding: .utf8)
            } catch {
                throw UsageFailure("cannot read --ca \(ca): \(error.localizedDescription)")
            }
            let folder = URL(fileURLWithPath: ledgerDirectory)
            do {
                let authority = try SigningCertificateVerifier(caCertificatePEM: pem, source: ca)
                return (try EgressLedgerVerifier(authority: authority).verify(folder: folder), folder)
            } catch let error as IdentityError {
                throw UsageFailure(error.message)
            } catch let error as FedCTError {
                throw UsageFailure(error.message)
            }
        }
    }

    /// Inputs that cannot be read: exit code 2.
    struct UsageFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Check the ledger's hash chain, every signature (against the site certificates it records, issued by --ca), every \
            coordinator receipt, that privacy-budget.json's spends match the ledger's, that nothing left in the clear when the \
            policy required masking or after a decline, and that archived masked payloads look uniform. Names the first bad entry. \
            Exit codes: 0 valid (warnings are printed), 1 invalid, 2 inputs unreadable.
            """)

        @OptionGroup var inputs: Inputs

        func run() throws {
            do {
                let (audit, folder) = try inputs.audit()
                if let failure = audit.failure {
                    print("INVALID: \(folder.appending(path: EgressLedgerFile.ledgerName).path): \(failure)")
                    throw ExitCode(1)
                }
                print("VALID: \(audit.entries.count) entries signed by \(audit.site ?? "?"), \(audit.receiptsVerified) coordinator receipts verified, \(audit.warnings.count) warning(s)")
                for warning in audit.warnings { print("warning: \(warning)") }
            } catch let failure as UsageFailure {
                FileHandle.standardError.write(Data("error: \(failure)\n".utf8))
                throw ExitCode(2)
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Per job and round what left the site (kinds, calls, bytes, hashes, the content of small messages), ε per job and in \
            total, the policy in force, declines and warnings — as text, JSON (--json) or one self-contained HTML page (--html FILE). \
            Exit codes as verify: 0 valid, 1 invalid (the report is still printed), 2 inputs unreadable.
            """)

        @OptionGroup var inputs: Inputs

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        @Option(name: .long, help: "Also write the report as a self-contained HTML page to this file.")
        var html: String?

        func run() throws {
            do {
                let (audit, folder) = try inputs.audit()
                let report = try EgressLedgerReport(audit: audit) { relative in
                    guard !relative.contains("..") else { return nil }
                    return (try? Data(contentsOf: folder.appending(path: relative))).map { [UInt8]($0) }
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
                    print(String(decoding: try encoder.encode(report), as: UTF8.self))
                } else {
                    print(report.text)
                }
                if let html {
                    try Data(report.html.utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
                }
                if !report.valid { throw ExitCode(1) }
            } catch let failure as UsageFailure {
                FileHandle.standardError.write(Data("error: \(failure)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}

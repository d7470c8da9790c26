// RPCFuzzing: each request message as the coordinator's handlers receive it — protobuf decode, then the same checks.
import FedCTCore
import FedCTProto
import FedCTTraining
import Foundation
import SwiftProtobuf

/// The first byte of an input picks the request type (the method), the rest is its serialized message.
enum RPCFuzzing {
    /// The round every secure-aggregation request is checked against: job-0001 round 1 of three sites.
    static let context = SecAggContext(jobID: "job-0001", round: 1, binding: String(repeating: "ab", count: 32))
    static let sites = ["site-1", "site-2", "site-3"]

    static func run(_: FuzzScratch, _ input: [UInt8]) throws {
        guard let method = input.first else { return }
        let bytes = Array(input.dropFirst())
        switch method % 12 {
        case 0: _ = try Fedct_V1_JoinRequest(serializedBytes: bytes)
        case 1:
            // ReportMetrics: the report's own rules (known metrics, values in [0, 1], counts at or above the minimum cohort).
            let report = try Fedct_V1_MetricsReport(serializedBytes: bytes)
            try EvaluationReport.validate(report, from: "site-1", minCohort: 5)
        case 2:
            let advertisement = try Fedct_V1_KeyAdvertisement(serializedBytes: bytes)
            var round = freshRound()
            _ = try round.receiveAdvertisement(advertisement, from: "site-1", certificatePEM: "", now: 0) { _, _, _, _ in }
        case 3:
            let request = try Fedct_V1_ShareKeysRequest(serializedBytes: bytes)
            var round = try sharingRound()
            _ = try round.receiveShares(request.shares, from: "site-1", now: 1)
        case 4:
            let request = try Fedct_V1_UnmaskRequest(serializedBytes: bytes)
            var round = freshRound()
            _ = try round.receiveUnmask(request.shares, from: "site-1", now: 1)
        case 5: _ = try Fedct_V1_SecAggStepRequest(serializedBytes: bytes)
        case 6: _ = try Fedct_V1_DeclineRequest(serializedBytes: bytes)
        case 7:
            let submission = try Fedct_V1_SetupSubmission(serializedBytes: bytes)
            if case .counts(let counts) = submission.statistics {
                try SetupEncoding.checkBound(counts.values) { "value \($0)" }
            }
        case 8:
            // SubmitJob: completed with the defaults, planned and validated as Coordinator.submit does.
            let request = try Fedct_V1_SubmitJobRequest(serializedBytes: bytes)
            let spec = request.spec.applyingDefaults()
            _ = try JobPlan(spec: spec, source: "fuzz job")
            _ = try PretrainingObjectives.of(spec, source: "fuzz job")
            try PretrainingObjectives.validate(spec, source: "fuzz job")
        case 9: _ = try Fedct_V1_FetchModelRequest(serializedBytes: bytes)
        case 10:
            let chunk = try Fedct_V1_UpdateChunk(serializedBytes: bytes)
            if case .header(let header) = chunk.part {
                _ = JobStep(wireRound: Int(header.round), setupSteps: [])
            }
        default:
            _ = try Fedct_V1_GetJobRequest(serializedBytes: bytes)
            _ = try Fedct_V1_CancelJobRequest(serializedBytes: bytes)
        }
    }

    private static func freshRound() -> SecAggServerRound {
        SecAggServerRound(context: context, participants: sites, settings: SecAggParameters(), now: 0)
    }

    /// A round past its key step: every site advertised well-formed keys (not checked: the verifier accepts all).
    private static func sharingRound() throws -> SecAggServerRound {
        var round = freshRound()
        for (index, site) in sites.enumerated() {
            var advertisement = Fedct_V1_KeyAdvertisement()
            advertisement.site = site
            advertisement.jobID = context.jobID
            advertisement.round = Int32(context.round)
            advertisement.attempt = Int32(context.attempt)
            advertisement.bindingSha256 = context.binding
            advertisement.sharePublicKey = Data(repeating: UInt8(index + 1), count: 32)
            advertisement.maskPublicKey = Data(repeating: UInt8(index + 11), count: 32)
            advertisement.selfMaskCommitment = Data(repeating: UInt8(index + 21), count: 32)
            _ = try round.receiveAdvertisement(advertisement, from: site, certificatePEM: "", now: 0) { _, _, _, _ in }
        }
        return round
    }
}

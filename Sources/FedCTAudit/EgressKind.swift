// EgressKind: the ledger kind of an outbound message, derived from its method and bytes the same way by the site and the coordinator.
import FedCTProto
import FedCTProtocol
import Foundation

/// Names the kind of one site message, so the site's ledger entry and the coordinator's receipt agree.
public enum EgressKind {
    /// The kind of a request to `method` whose (first) serialized message is `request`; nil for a method that is not a site call.
    public static func of(method: String, request: [UInt8]) -> String? {
        guard let info = FedCTServices.byPath[method], info.caller == .site else { return nil }
        if let kind = info.ledgerKind { return kind }
        switch method {
        case SiteRPC.submitSetup.path:
            return setupKind((try? Fedct_V1_SetupSubmission(serializedBytes: request))?.statistics)
        case SiteRPC.uploadUpdate.path:
            return updateKind(masked: (try? Fedct_V1_UpdateChunk(serializedBytes: request))?.header.hasMasked != false)
        default:
            return nil
        }
    }

    /// A setup submission's kind: candidate names, plain counts or masked words.
    public static func setupKind(_ statistics: Fedct_V1_SetupSubmission.OneOf_Statistics?) -> String {
        switch statistics {
        case .candidates: "setup-candidates"
        case .counts: "setup-counts"
        case .maskedWords, nil: "setup-masked"
        }
    }

    /// An update's kind: masked (secure aggregation) or plain.
    public static func updateKind(masked: Bool) -> String { masked ? "masked-update" : "update" }
}

extension EgressKind {
    /// The job, round and attempt a site request names (empty and 0 for job-agnostic requests), for its receipt.
    public static func context(method: String, request: [UInt8]) -> (jobID: String, round: Int32, attempt: Int32) {
        switch method {
        case SiteRPC.heartbeat.path:
            let message = (try? Fedct_V1_HeartbeatRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, 0)
        case SiteRPC.advertiseKeys.path:
            let message = (try? Fedct_V1_KeyAdvertisement(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case SiteRPC.shareKeys.path:
            let message = (try? Fedct_V1_ShareKeysRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case SiteRPC.secAggStep.path:
            let message = (try? Fedct_V1_SecAggStepRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case SiteRPC.unmask.path:
            let message = (try? Fedct_V1_UnmaskRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case SiteRPC.submitSetup.path:
            let message = (try? Fedct_V1_SetupSubmission(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case SiteRPC.reportMetrics.path:
            let message = (try? Fedct_V1_MetricsReport(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, 0)
        case SiteRPC.decline.path:
            let message = (try? Fedct_V1_DeclineRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, 0)
        case SiteRPC.uploadUpdate.path:
            let header = ((try? Fedct_V1_UpdateChunk(serializedBytes: request)) ?? .init()).header
            return (header.jobID, header.round, header.masked.attempt)
        default:
            return ("", 0, 0)
        }
    }
}

// EgressKind: the ledger kind of an outbound message, derived from its method and bytes the same way by the site and the coordinator.
import FedCTProto
import Foundation

/// Names the kind of one site message, so the site's ledger entry and the coordinator's receipt agree.
public enum EgressKind {
    /// The kind of a request to `method` whose (first) serialized message is `request`; nil for a method that is not a site call.
    public static func of(method: String, request: [UInt8]) -> String? {
        switch method {
        case "/fedct.v1.Site/Join": "join"
        case "/fedct.v1.Site/PullTask": "pull-task"
        case "/fedct.v1.Site/Heartbeat": "heartbeat"
        case "/fedct.v1.Site/FetchModel": "fetch-model"
        case "/fedct.v1.Site/AdvertiseKeys": "secagg-advertise-keys"
        case "/fedct.v1.Site/ShareKeys": "secagg-share-keys"
        case "/fedct.v1.Site/SecAggStep": "secagg-step"
        case "/fedct.v1.Site/Unmask": "secagg-unmask"
        case "/fedct.v1.Site/ReportMetrics": "metrics"
        case "/fedct.v1.Site/Decline": "decline"
        case "/fedct.v1.Site/SubmitSetup":
            switch (try? Fedct_V1_SetupSubmission(serializedBytes: request))?.statistics {
            case .candidates: "setup-candidates"
            case .counts: "setup-counts"
            case .maskedWords, nil: "setup-masked"
            }
        case "/fedct.v1.Site/UploadUpdate":
            (try? Fedct_V1_UpdateChunk(serializedBytes: request))?.header.hasMasked == false ? "update" : "masked-update"
        default: nil
        }
    }
}

extension EgressKind {
    /// The job, round and attempt a site request names (empty and 0 for job-agnostic requests), for its receipt.
    public static func context(method: String, request: [UInt8]) -> (jobID: String, round: Int32, attempt: Int32) {
        switch method {
        case "/fedct.v1.Site/Heartbeat":
            let message = (try? Fedct_V1_HeartbeatRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, 0)
        case "/fedct.v1.Site/AdvertiseKeys":
            let message = (try? Fedct_V1_KeyAdvertisement(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case "/fedct.v1.Site/ShareKeys":
            let message = (try? Fedct_V1_ShareKeysRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case "/fedct.v1.Site/SecAggStep":
            let message = (try? Fedct_V1_SecAggStepRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case "/fedct.v1.Site/Unmask":
            let message = (try? Fedct_V1_UnmaskRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case "/fedct.v1.Site/SubmitSetup":
            let message = (try? Fedct_V1_SetupSubmission(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, message.attempt)
        case "/fedct.v1.Site/ReportMetrics":
            let message = (try? Fedct_V1_MetricsReport(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, 0)
        case "/fedct.v1.Site/Decline":
            let message = (try? Fedct_V1_DeclineRequest(serializedBytes: request)) ?? .init()
            return (message.jobID, message.round, 0)
        case "/fedct.v1.Site/UploadUpdate":
            let header = ((try? Fedct_V1_UpdateChunk(serializedBytes: request)) ?? .init()).header
            return (header.jobID, header.round, header.masked.attempt)
        default:
            return ("", 0, 0)
        }
    }
}

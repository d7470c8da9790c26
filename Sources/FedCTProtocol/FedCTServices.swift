// FedCTServices: the methods of the fedct.v1.Site and fedct.v1.Admin services (Protos/fedct/v1/*.proto), as typed values.
public import FedCTProto

/// The Site service: what a site agent calls (Docs/protocol.md).
public enum SiteRPC {
    public static let join = RPCMethod<Fedct_V1_JoinRequest, Fedct_V1_JoinResponse>(.site, "Join", ledgerKind: "join")
    public static let pullTask = RPCMethod<Fedct_V1_PullTaskRequest, Fedct_V1_Task>(.site, "PullTask", ledgerKind: "pull-task")
    public static let heartbeat = RPCMethod<Fedct_V1_HeartbeatRequest, Fedct_V1_HeartbeatResponse>(.site, "Heartbeat", ledgerKind: "heartbeat")
    /// Server streaming: `Response` is each chunk.
    public static let fetchModel = RPCMethod<Fedct_V1_FetchModelRequest, Fedct_V1_ModelChunk>(.site, "FetchModel", ledgerKind: "fetch-model")
    /// Client streaming: `Request` is each chunk (the header first).
    public static let uploadUpdate = RPCMethod<Fedct_V1_UpdateChunk, Fedct_V1_UploadReceipt>(.site, "UploadUpdate")
    public static let reportMetrics = RPCMethod<Fedct_V1_MetricsReport, Fedct_V1_MetricsReceipt>(.site, "ReportMetrics", ledgerKind: "metrics")
    public static let advertiseKeys = RPCMethod<Fedct_V1_KeyAdvertisement, Fedct_V1_SecAggAck>(.site, "AdvertiseKeys", ledgerKind: "secagg-advertise-keys")
    public static let secAggStep = RPCMethod<Fedct_V1_SecAggStepRequest, Fedct_V1_SecAggStepResponse>(.site, "SecAggStep", ledgerKind: "secagg-step")
    public static let shareKeys = RPCMethod<Fedct_V1_ShareKeysRequest, Fedct_V1_SecAggAck>(.site, "ShareKeys", ledgerKind: "secagg-share-keys")
    public static let unmask = RPCMethod<Fedct_V1_UnmaskRequest, Fedct_V1_SecAggAck>(.site, "Unmask", ledgerKind: "secagg-unmask")
    public static let submitSetup = RPCMethod<Fedct_V1_SetupSubmission, Fedct_V1_SetupReceipt>(.site, "SubmitSetup")
    public static let decline = RPCMethod<Fedct_V1_DeclineRequest, Fedct_V1_DeclineAck>(.site, "Decline", ledgerKind: "decline")

    public static let all: [RPCMethodInfo] = [
        join.info, pullTask.info, heartbeat.info, fetchModel.info, uploadUpdate.info, reportMetrics.info, advertiseKeys.info,
        secAggStep.info, shareKeys.info, unmask.info, submitSetup.info, decline.info,
    ]
}

/// The Admin service: what `fedctl` and the dashboard's users call.
public enum AdminRPC {
    public static let submitJob = RPCMethod<Fedct_V1_SubmitJobRequest, Fedct_V1_JobStatus>(.admin, "SubmitJob")
    public static let listJobs = RPCMethod<Fedct_V1_ListJobsRequest, Fedct_V1_ListJobsResponse>(.admin, "ListJobs")
    public static let getJob = RPCMethod<Fedct_V1_GetJobRequest, Fedct_V1_JobStatus>(.admin, "GetJob")
    public static let cancelJob = RPCMethod<Fedct_V1_CancelJobRequest, Fedct_V1_JobStatus>(.admin, "CancelJob")
    /// Server streaming: `Response` is each chunk.
    public static let fetchModel = RPCMethod<Fedct_V1_FetchModelRequest, Fedct_V1_ModelChunk>(.admin, "FetchModel")

    public static let all: [RPCMethodInfo] = [submitJob.info, listJobs.info, getJob.info, cancelJob.info, fetchModel.info]
}

/// Every method the coordinator serves, by path.
public enum FedCTServices {
    public static let byPath: [String: RPCMethodInfo] = Dictionary(uniqueKeysWithValues: (SiteRPC.all + AdminRPC.all).map { ($0.path, $0) })
}

// DashboardSource: what the dashboard reads from the coordinator — through the Admin service's job views and the RPC layer's site activity.
public import FedCTCoordinator
public import FedCTProto
public import Foundation

/// The coordinator state the dashboard shows; read-only.
public protocol DashboardSource: Sendable {
    /// Every job, oldest first, with live fields for the running one (as `fedctl job list`).
    func jobs() async -> [Fedct_V1_JobStatus]
    /// One job (as `fedctl job status`); throws `FedCTError(.notFound)` for an unknown id.
    func job(_ id: String) async throws -> Fedct_V1_JobStatus
    /// Sites that called since the coordinator started.
    func sitesSeen() -> [SiteSeen]
    /// Whether a certificate serial is on the revocation list in force.
    func isRevoked(serial: String) -> Bool
    /// When the revocation list in force was signed; nil without one.
    var revocationListUpdated: Date? { get }
    /// The file of a stored model blob; throws `FedCTError(.notFound)` when there is none.
    func modelFile(_ sha256: String) async throws -> URL
}

/// The running coordinator: its job views and its RPC layer's record of site calls.
public struct CoordinatorDashboardSource: DashboardSource {
    let coordinator: Coordinator
    let service: CoordinatorService

    public init(coordinator: Coordinator, service: CoordinatorService) {
        self.coordinator = coordinator
        self.service = service
    }

    public func jobs() async -> [Fedct_V1_JobStatus] { await coordinator.listJobs() }
    public func job(_ id: String) async throws -> Fedct_V1_JobStatus { try await coordinator.job(id) }
    public func sitesSeen() -> [SiteSeen] { service.sitesSeen() }
    public func isRevoked(serial: String) -> Bool { service.isRevoked(serial: serial) }
    public var revocationListUpdated: Date? { service.revocationListUpdated }
    public func modelFile(_ sha256: String) async throws -> URL { try await coordinator.modelBlob(sha256) }
}

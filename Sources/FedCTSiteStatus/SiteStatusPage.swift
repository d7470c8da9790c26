// SiteStatusPage: the site's read-only status page on loopback — one page, its JSON endpoint, behind a login link fedct-site prints.
import FedCTCore
import FedCTData
public import FedCTSite
import FedCTStorage
import FedCTWeb
import Foundation
import Hummingbird
public import Logging

/// Serves `status.listen` (loopback only, plain HTTP): the agent's state, preflight, egress ledger, privacy budget and policy.
public final class SiteStatusPage: Sendable {
    static let howToLogIn = "run `fedct-site status-link --config site.yaml` on this machine and open the link it prints"

    /// The bound port.
    public let port: Int
    private let server: WebServer
    private let preflight: Task<Void, Never>
    private let stateDirectory: String

    private init(server: WebServer, preflight: Task<Void, Never>, stateDirectory: String) {
        self.server = server
        self.port = server.port
        self.preflight = preflight
        self.stateDirectory = stateDirectory
    }

    /// Starts the page for `config` and `status`, writes `status.url`, and logs a login link valid for ten minutes.
    public static func start(config: SiteConfig, status: AgentStatus, version: String, logger: Logger) async throws -> SiteStatusPage {
        guard let listen = config.statusListen else {
            throw FedCTError(.invalidConfiguration, "status.listen is not set; add `status: {listen: 127.0.0.1:8600}` to site.yaml")
        }
        let link = LoginLink.siteStatus
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: config.stateDirectory), withIntermediateDirectories: true)
        let key = try LoginKey.loadOrCreate(link.keyFile(in: config.stateDirectory))
        // The preflight reads every image once, in the background; the page shows "running" until it is done.
        let directory = config.dataDirectory
        let checked = PreflightResult()
        let preflight = Task.detached(priority: .background) { checked.set(DataPreflight(directory: directory).run()) }
        let access = WebAccess(key: key, cookieName: "fedct_site_status", secureCookies: false, howToLogIn: howToLogIn)
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: access.middleware)
        access.addLogin(to: router)
        WebResponse.addAssets(to: router, scripts: ["site-status.js": SiteStatusScript.source])
        router.get("/") { _, _ in
            WebPage(title: "Site status", product: "FedCT site status", navigation: [("Status", "/")], script: "site-status.js",
                    body: SiteStatusScript.body).response()
        }
        router.get("/api/status") { request, _ -> Response in
            if let query = request.uri.query, !query.isEmpty {
                throw WebError(.badRequest, "unexpected query '\(query.prefix(80))'; /api/status takes none")
            }
            let state = URL(fileURLWithPath: config.stateDirectory)
            let report = checked.report.map { SiteStatusView.Preflight($0) } ?? .running
            let view = SiteStatusView(
                agent: .init(version: version, coordinator: config.coordinatorAddress, activity: status.snapshot),
                preflight: report,
                egress: .init(ledger: state.appending(path: "egress.jsonl")),
                privacy: .init(ledger: state.appending(path: "privacy-budget.json"), delta: config.privacyDelta, maxEpsilon: config.maxEpsilon),
                policy: SiteStatusView.policy(config))
            return WebResponse.json(view)
        }
        let server = try await WebServer.start(address: listen, setting: "status.listen", tls: nil, router: router, logger: logger)
        let host = listen[..<listen.lastIndex(of: ":")!]
        try AtomicFile.write(Array("http://\(host):\(server.port)\n".utf8), to: link.urlFile(in: config.stateDirectory))
        let login = try link.make(stateDirectory: config.stateDirectory, subject: "site operator", lifetime: 600)
        logger.notice("status page: open this link within 10 minutes (or run `fedct-site status-link`)", metadata: ["link": "\(login)"])
        return SiteStatusPage(server: server, preflight: preflight, stateDirectory: config.stateDirectory)
    }

    /// Stops serving and removes `status.url`.
    public func stop() async {
        await server.stop()
        preflight.cancel()
        try? FileManager.default.removeItem(at: LoginLink.siteStatus.urlFile(in: stateDirectory))
    }
}

/// The preflight's report once the background check has finished.
///
/// `@unchecked Sendable`: `report` is only touched under `lock`.
final class PreflightResult: @unchecked Sendable {
    private let lock = NSLock()
    private var value: PreflightReport?

    var report: PreflightReport? { lock.withLock { value } }

    func set(_ report: PreflightReport) { lock.withLock { value = report } }
}

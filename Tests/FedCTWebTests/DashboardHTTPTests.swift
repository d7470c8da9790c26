// DashboardHTTPTests: the dashboard's routes over real HTTP on loopback — refused without a session, a login link used once,
// and clear 4xx answers to unknown jobs, malformed queries and oversized requests.
import Crypto
@testable import FedCTDashboard
import FedCTCore
@testable import FedCTCoordinator
import FedCTProto
import FedCTWeb
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import XCTest

final class DashboardHTTPTests: XCTestCase {
    let key = SymmetricKey(size: .bits256)
    var server: WebServer!
    var base: String { "http://127.0.0.1:\(server.port)" }

    override func setUp() async throws {
        let access = WebAccess(key: key, cookieName: "fedct_dashboard", secureCookies: false, howToLogIn: "run `fedctl dashboard login`")
        let router = Dashboard.makeRouter(source: FakeSource(), access: access)
        server = try await WebServer.start(address: "127.0.0.1:0", setting: "dashboard.listen", tls: nil, router: router, logger: Logger(label: "test"))
    }

    override func tearDown() async throws {
        await server.stop()
    }

    func testNothingButTheAssetsIsReadableWithoutASession() async throws {
        for path in ["/", "/jobs", "/jobs/job-1", "/api/sites", "/api/jobs", "/api/jobs/job-1", "/api/models/" + String(repeating: "a", count: 64)] {
            let (status, body, _) = try await get(path)
            XCTAssertEqual(status, 401, path)
            XCTAssertTrue(body.contains("fedctl dashboard login"), "\(path): \(body)")
            XCTAssertFalse(body.contains("site-a"), path)
        }
        let (status, body, _) = try await get("/assets/chart.min.js")
        XCTAssertEqual(status, 200)
        XCTAssertTrue(body.contains("Chart.js v3.9.1"))
    }

    func testALoginLinkSetsASessionOnceAndAForgedOneIsRefused() async throws {
        let token = SignedToken(purpose: .login, subject: "admin", expires: Date().addingTimeInterval(60)).encoded(with: key)
        let forged = SignedToken(purpose: .login, subject: "admin", expires: Date().addingTimeInterval(60)).encoded(with: SymmetricKey(size: .bits256))
        let (refused, reason, _) = try await get("/login?token=\(forged)")
        XCTAssertEqual(refused, 401)
        XCTAssertTrue(reason.contains("signature"), reason)
        let (status, _, headers) = try await get("/login?token=\(token)")
        XCTAssertEqual(status, 302)
        let cookie = try XCTUnwrap(headers["Set-Cookie"])
        XCTAssertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie)
        let (again, message, _) = try await get("/login?token=\(token)")
        XCTAssertEqual(again, 401)
        XCTAssertTrue(message.contains("already used"), message)
        let session = String(cookie.split(separator: ";")[0])
        let (ok, jobs, _) = try await get("/api/jobs", cookie: session)
        XCTAssertEqual(ok, 200)
        XCTAssertTrue(jobs.contains("\"id\":\"job-1\""), jobs)
        // A login token is not a session.
        let (wrong, _, _) = try await get("/api/jobs", cookie: "fedct_dashboard=\(token)")
        XCTAssertEqual(wrong, 401)
    }

    func testBadRequestsGetClearErrors() async throws {
        let session = "fedct_dashboard=" + SignedToken(purpose: .session, subject: "admin", expires: Date().addingTimeInterval(60)).encoded(with: key)
        let cases: [(String, Int, String)] = [
            ("/api/jobs/no-such-job", 404, "no job 'no-such-job'"),
            ("/jobs/no-such-job", 404, "no job &#39;no-such-job&#39;"),
            ("/api/jobs/bad%20id!", 400, "is not a job id"),
            ("/api/jobs?limit=lots", 400, "limit 'lots' must be a whole number"),
            ("/api/jobs?state=sleeping", 400, "state 'sleeping' is not one of"),
            ("/api/jobs?colour=red", 400, "unknown query parameter 'colour'"),
            ("/api/jobs/job-1?x=1", 400, "unexpected query"),
            ("/api/models/xyz", 400, "is not a model hash"),
            ("/api/models/" + String(repeating: "b", count: 64), 404, "no model blob"),
            ("/no/such/page", 404, "no such page"),
        ]
        for (path, expected, text) in cases {
            let (status, body, _) = try await get(path, cookie: session)
            XCTAssertEqual(status, expected, path)
            XCTAssertTrue(body.contains(text), "\(path): \(body)")
        }
        let (ok, job, _) = try await get("/api/jobs/job-1", cookie: session)
        XCTAssertEqual(ok, 200)
        let view = try JSONDecoder().decode(JobView.self, from: Data(job.utf8))
        XCTAssertEqual(view.rounds.map(\.round), [1, 2])
        XCTAssertEqual(view.models.map(\.label), ["initial", "after round 1", "after round 2"])
        let (filtered, running, _) = try await get("/api/jobs?state=running&limit=1", cookie: session)
        XCTAssertEqual(filtered, 200)
        XCTAssertEqual(try JSONDecoder().decode(JobsView.self, from: Data(running.utf8)).jobs.map(\.id), ["job-1"])
        // A request whose headers exceed the limit is refused (by the HTTP parser) before any route runs.
        let (huge, _, _) = try await get("/api/jobs", cookie: session, extraHeader: String(repeating: "x", count: WebServer.maxHeaderBytes + 1))
        XCTAssertEqual(huge, 400)
    }

    func testSitesShowLiveTrainingDroppedRevokedAndNotSeen() {
        let now = Date()
        func seen(_ site: String, ago: Double, serial: String) -> SiteSeen {
            SiteSeen(site: site, lastCall: now.addingTimeInterval(-ago), secondsSinceCall: ago, certificateSerial: serial,
                     certificateNotAfter: now.addingTimeInterval(30 * 86400), agentVersion: "0.1.0")
        }
        let view = SitesView(seen: [seen("site-a", ago: 1, serial: "01"), seen("site-b", ago: 5, serial: "02"), seen("site-c", ago: 300, serial: "03"),
                                    seen("site-d", ago: 1, serial: "04")],
                             jobs: FakeSource.statuses, revoked: { $0 == "04" }, revocationListUpdated: now.addingTimeInterval(-2 * 86400), now: now)
        XCTAssertEqual(view.sites.map(\.site), ["site-a", "site-b", "site-c", "site-d", "site-e"])
        XCTAssertEqual(view.sites.map(\.status), ["training", "live", "dropped", "revoked", "not seen"])
        XCTAssertEqual(view.sites[0].certificateDaysLeft ?? 0, 30, accuracy: 0.01)
        XCTAssertEqual(view.revocationListAgeDays ?? 0, 2, accuracy: 0.01)
    }

    /// GET `path` with an optional cookie, not following redirects.
    private func get(_ path: String, cookie: String? = nil, extraHeader: String? = nil) async throws -> (Int, String, [String: String]) {
        var request = URLRequest(url: URL(string: base + path)!)
        if let cookie { request.setValue(cookie, forHTTPHeaderField: "Cookie") }
        if let extraHeader { request.setValue(extraHeader, forHTTPHeaderField: "X-Padding") }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        let session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = try XCTUnwrap(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers["\(name)"] = "\(value)" }
        return (http.statusCode, String(decoding: data, as: UTF8.self), headers)
    }
}

/// Hands back a redirect itself instead of following it (to read the login's Set-Cookie).
final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// One running job with two committed rounds; sites a and b in its open round, e named only by a round.
struct FakeSource: DashboardSource {
    static let statuses: [Fedct_V1_JobStatus] = {
        var job = Fedct_V1_JobStatus()
        job.jobID = "job-1"
        job.state = .running
        job.spec.name = "tiny"
        job.spec.rounds = 5
        job.initialModelSha256 = String(repeating: "0", count: 64)
        for round in 1...2 {
            var record = Fedct_V1_RoundRecord()
            record.round = Int32(round)
            record.sites = ["site-a", "site-e"]
            record.meanTrainLoss = 1.0 / Double(round)
            record.modelSha256 = String(repeating: "\(round)", count: 64)
            job.rounds.append(record)
        }
        var progress = Fedct_V1_SiteProgress()
        progress.site = "site-a"
        progress.state = "training"
        job.siteProgress = [progress]
        var old = Fedct_V1_JobStatus()
        old.jobID = "job-0"
        old.state = .succeeded
        return [old, job]
    }()

    func jobs() async -> [Fedct_V1_JobStatus] { Self.statuses }
    func job(_ id: String) async throws -> Fedct_V1_JobStatus {
        guard let job = Self.statuses.first(where: { $0.jobID == id }) else { throw FedCTError(.notFound, "no job \(id)") }
        return job
    }
    func sitesSeen() -> [SiteSeen] { [] }
    func isRevoked(serial: String) -> Bool { false }
    var revocationListUpdated: Date? { nil }
    func modelFile(_ sha256: String) async throws -> URL { throw FedCTError(.notFound, "no model blob \(sha256)") }
}

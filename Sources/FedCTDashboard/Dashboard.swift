// Dashboard: the coordinator's HTTPS dashboard — routes for the consortium, jobs and job pages, their JSON endpoints and model downloads.
import FedCTCore
import FedCTProto
import FedCTStorage
import FedCTWeb
import Foundation
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore

/// Serves the dashboard on `dashboard.listen` with the coordinator's certificate, to admins holding a login link.
public final class Dashboard: Sendable {
    /// What to do without a session.
    static let howToLogIn = "on the coordinator's host run `fedctl dashboard login --config coordinator.yaml` and open the link it prints"

    /// The bound port.
    public let port: Int
    /// The address admins open (the login links' base).
    public let url: String
    private let server: WebServer

    private init(server: WebServer, url: String) {
        self.server = server
        self.port = server.port
        self.url = url
    }

    /// Starts the dashboard: creates the login key if needed, listens, and writes `dashboard.url` into `stateDirectory`.
    public static func start(listen: String, publicURL: String?, certificateFile: String, keyFile: String, stateDirectory: String,
                             source: any DashboardSource, logger: Logger) async throws -> Dashboard {
        let tls = WebTLS(certificateFile: certificateFile, keyFile: keyFile)
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: stateDirectory), withIntermediateDirectories: true)
        let key = try LoginKey.loadOrCreate(LoginLink.dashboard.keyFile(in: stateDirectory))
        let router = makeRouter(source: source, access: WebAccess(key: key, cookieName: "fedct_dashboard", secureCookies: true, howToLogIn: howToLogIn))
        let server = try await WebServer.start(address: listen, setting: "dashboard.listen", tls: tls, router: router, logger: logger)
        let url = publicURL ?? "https://localhost:\(server.port)"
        try AtomicFile.write(Array("\(url)\n".utf8), to: LoginLink.dashboard.urlFile(in: stateDirectory))
        logger.info("serving the dashboard", metadata: ["address": "\(listen)", "url": "\(url)"])
        return Dashboard(server: server, url: url)
    }

    /// Stops serving and removes `dashboard.url`.
    public func stop(stateDirectory: String) async {
        await server.stop()
        try? FileManager.default.removeItem(at: LoginLink.dashboard.urlFile(in: stateDirectory))
    }

    static func makeRouter(source: any DashboardSource, access: WebAccess) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: access.middleware)
        access.addLogin(to: router)
        WebResponse.addAssets(to: router, scripts: ["dashboard.js": DashboardScript.source])
        let pages = DashboardPages()
        router.get("/") { _, _ in pages.consortium() }
        router.get("/jobs") { _, _ in pages.jobs() }
        router.get("/jobs/:id") { _, context -> Response in
            let id = try jobID(context)
            _ = try await lookUp(id, in: source)
            return pages.job(id)
        }
        router.get("/api/sites") { _, _ -> Response in
            let view = SitesView(seen: source.sitesSeen(), jobs: await source.jobs(), revoked: source.isRevoked(serial:),
                                 revocationListUpdated: source.revocationListUpdated, now: Date())
            return WebResponse.json(view)
        }
        router.get("/api/jobs") { request, _ -> Response in
            let query = try JobsQuery(request.uri.queryParameters)
            return WebResponse.json(query.apply(await source.jobs()))
        }
        router.get("/api/jobs/:id") { request, context -> Response in
            try rejectQuery(request)
            return WebResponse.json(JobView(try await lookUp(try jobID(context), in: source)))
        }
        router.get("/api/models/:sha256") { request, context -> Response in
            try rejectQuery(request)
            let sha = context.parameters.get("sha256") ?? ""
            guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
                throw WebError(.badRequest, "'\(sha.prefix(80))' is not a model hash (64 hexadecimal digits)")
            }
            let file: URL
            do {
                file = try await source.modelFile(sha.lowercased())
            } catch {
                throw WebError(.notFound, "no model blob \(sha) on this coordinator")
            }
            return try download(file, name: "\(sha.prefix(12)).safetensors")
        }
        return router
    }

    /// The `:id` parameter, checked to look like a job id.
    static func jobID(_ context: BasicRequestContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard (1...128).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw WebError(.badRequest, "'\(id.prefix(80))' is not a job id (letters, digits, '-', '_', '.'; at most 128)")
        }
        return id
    }

    static func lookUp(_ id: String, in source: any DashboardSource) async throws -> Fedct_V1_JobStatus {
        do {
            return try await source.job(id)
        } catch let error as FedCTError where error.code == .notFound {
            throw WebError(.notFound, "no job '\(id)' on this coordinator; the jobs page lists them")
        }
    }

    /// Endpoints without parameters refuse any query, rather than ignore a misspelt one.
    static func rejectQuery(_ request: Request) throws {
        if let query = request.uri.query, !query.isEmpty {
            throw WebError(.badRequest, "unexpected query '\(query.prefix(80))'; this endpoint takes none")
        }
    }

    /// Streams `file` as an attachment in 1 MiB chunks.
    static func download(_ file: URL, name: String) throws -> Response {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: file)
        } catch {
            throw WebError(.notFound, "the model blob \(file.lastPathComponent) cannot be read: \(error.localizedDescription)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        headers[.cacheControl] = "no-store"
        let body = ResponseBody(contentLength: size) { writer in
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

/// `GET /api/jobs?state=…&limit=…`: both optional; anything else is refused with 400.
struct JobsQuery: Equatable {
    var state: String?
    var limit: Int?

    static let states = ["queued", "waiting_for_sites", "running", "succeeded", "failed", "cancelled"]

    init(_ parameters: Parameters) throws {
        for (name, value) in parameters {
            switch String(name) {
            case "state":
                guard Self.states.contains(String(value)) else {
                    throw WebError(.badRequest, "state '\(value.prefix(40))' is not one of \(Self.states.joined(separator: ", "))")
                }
                state = String(value)
            case "limit":
                guard let limit = Int(value), (1...10_000).contains(limit) else {
                    throw WebError(.badRequest, "limit '\(value.prefix(40))' must be a whole number from 1 to 10000")
                }
                self.limit = limit
            default:
                throw WebError(.badRequest, "unknown query parameter '\(name.prefix(40))'; /api/jobs takes state and limit")
            }
        }
    }

    /// The jobs, newest first, filtered and cut.
    func apply(_ jobs: [Fedct_V1_JobStatus]) -> JobsView {
        var rows = jobs.reversed().map(JobRow.init)
        if let state { rows = rows.filter { $0.state == state } }
        if let limit { rows = Array(rows.prefix(limit)) }
        return JobsView(jobs: rows)
    }
}

// WebError: a request the pages refuse, answered with its status and a sentence saying what to do (JSON under /api/).
public import Hummingbird
import Foundation

/// A refusal with an HTTP status and a human-readable reason.
public struct WebError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Turns thrown `WebError`s (and Hummingbird's own errors, and unknown routes) into clear answers:
/// `{"error": "...", "status": N}` for `/api/` paths, a small HTML page otherwise.
public struct ErrorMiddleware: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let api = request.uri.path.hasPrefix("/api/")
        do {
            let response = try await next(request, context)
            return response
        } catch let error as WebError {
            return Self.answer(error, api: api)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no such page: \(request.uri.path)" : "\(error.status)")
            return Self.answer(WebError(error.status, message), api: api)
        } catch {
            return Self.answer(WebError(.internalServerError, "\(error)"), api: api)
        }
    }

    static func answer(_ error: WebError, api: Bool) -> Response {
        if api {
            struct Body: Encodable { var error: String; var status: Int }
            return WebResponse.json(Body(error: error.message, status: error.status.code), status: error.status)
        }
        let page = WebPage(title: "\(error.status.code) \(error.status.reasonPhrase)", product: "FedCT", navigation: [], script: nil,
                           body: "<section class=\"error\"><h1>\(error.status.code) \(WebPage.escape(error.status.reasonPhrase))</h1><p>\(WebPage.escape(error.message))</p></section>")
        return page.response(status: error.status)
    }
}

// WebResponse: JSON and asset responses with the headers every page answer carries (no caching of data, strict CSP).
import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore

/// Builds responses for the web pages.
public enum WebResponse {
    /// No inline script or style, nothing from another origin, never framed.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
    ]

    /// `value` as JSON (sorted keys), not cached.
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data = (try? encoder.encode(value)) ?? Data("{\"error\":\"cannot encode the answer\",\"status\":500}".utf8)
        return bytes(Array(data), type: "application/json; charset=utf-8", status: status, cache: false)
    }

    /// A response with `body`, the security headers, and either no caching or an hour's.
    public static func bytes(_ body: [UInt8], type: String, status: HTTPResponse.Status = .ok, cache: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.contentLength] = "\(body.count)"
        headers[.cacheControl] = cache ? "private, max-age=3600" : "no-store"
        for (name, value) in securityHeaders { headers[name] = value }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Adds the shared assets: `/assets/chart.min.js`, `/assets/fedct.css`, `/assets/fedct-common.js` and `scripts` (name → JavaScript).
    public static func addAssets(to router: Router<BasicRequestContext>, scripts: [String: String]) {
        let files = scripts.merging(["chart.min.js": chartJS, "fedct-common.js": WebPage.commonScript]) { mine, _ in mine }
        router.get("/assets/fedct.css") { _, _ in bytes(Array(WebPage.stylesheet.utf8), type: "text/css; charset=utf-8", cache: true) }
        for (name, script) in files {
            let body = Array(script.utf8)
            router.get("/assets/\(name)") { _, _ in bytes(body, type: "text/javascript; charset=utf-8", cache: true) }
        }
    }
}

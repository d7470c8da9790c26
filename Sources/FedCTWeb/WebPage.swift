// WebPage: the HTML shell every page shares (header, navigation, one script), HTML escaping, and the shared stylesheet.
public import Hummingbird

/// One page: a shell whose content the page's script fills from the JSON endpoints (and keeps current).
public struct WebPage: Sendable {
    public var title: String
    /// "FedCT dashboard", "FedCT site status".
    public var product: String
    /// (label, href) pairs for the header.
    public var navigation: [(String, String)]
    /// The page's script under /assets/, or nil for a static page.
    public var script: String?
    /// Trusted HTML (built with `escape` for any value).
    public var body: String

    public init(title: String, product: String, navigation: [(String, String)], script: String?, body: String) {
        self.title = title
        self.product = product
        self.navigation = navigation
        self.script = script
        self.body = body
    }

    /// The page as an HTML response, not cached.
    public func response(status: HTTPResponse.Status = .ok) -> Response {
        WebResponse.bytes(Array(html.utf8), type: "text/html; charset=utf-8", status: status, cache: false)
    }

    var html: String {
        let links = navigation.map { "<a href=\"\(Self.escape($0.1))\">\(Self.escape($0.0))</a>" }.joined(separator: "\n")
        let scripts = script.map {
            """
            <script src="/assets/chart.min.js"></script>
            <script src="/assets/fedct-common.js"></script>
            <script src="/assets/\(Self.escape($0))"></script>
            """
        } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title)) · \(Self.escape(product))</title>
            <link rel="icon" href="data:,">
            <link rel="stylesheet" href="/assets/fedct.css">
            </head>
            <body>
            <header><span class="product">\(Self.escape(product))</span><nav>\(links)</nav><span id="status-line" class="status-line"></span></header>
            <main>
            \(body)
            </main>
            \(scripts)
            </body>
            </html>
            """
    }

    /// `text` safe inside HTML text and double-quoted attributes.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

// DashboardPages: the HTML shells of the consortium, jobs and job pages; dashboard.js fills them from the JSON endpoints.
import FedCTWeb
import Hummingbird

/// The dashboard's pages. Each holds no data itself: its script reads `/api/…` and keeps the page current.
struct DashboardPages: Sendable {
    static let product = "FedCT dashboard"
    static let navigation = [("Consortium", "/"), ("Jobs", "/jobs")]

    func consortium() -> Response {
        page("Consortium", """
            <div id="page" data-page="consortium"></div>
            <h1>Consortium</h1>
            <section class="card"><h2>Sites</h2><div id="sites"></div><p id="revocation" class="empty"></p></section>
            <section class="card"><h2>Recent jobs</h2><div id="recent-jobs"></div></section>
            """)
    }

    func jobs() -> Response {
        page("Jobs", """
            <div id="page" data-page="jobs"></div>
            <h1>Jobs</h1>
            <section class="card"><h2>Queue and history</h2><div id="jobs"></div></section>
            """)
    }

    func job(_ id: String) -> Response {
        let id = WebPage.escape(id)
        return page("Job \(id)", """
            <div id="page" data-page="job" data-job="\(id)"></div>
            <h1>Job <code>\(id)</code> <span id="job-name"></span></h1>
            <section class="card"><h2>Now</h2><div id="job-now"></div></section>
            <section class="card"><h2>Sites in the open round</h2><div id="progress"></div></section>
            <div class="grid">
              <section class="card"><h2>Train loss per round</h2><div class="chart-box"><canvas id="chart-loss"></canvas></div></section>
              <section class="card"><h2>Bytes per round</h2><div class="chart-box"><canvas id="chart-bytes"></canvas></div></section>
              <section class="card"><h2>Seconds per round</h2><div class="chart-box"><canvas id="chart-seconds"></canvas></div></section>
              <section class="card"><h2>Sites per round</h2><div class="chart-box"><canvas id="chart-sites"></canvas></div></section>
            </div>
            <section class="card"><h2>Evaluation (pooled, over the evaluated rounds)</h2><div class="chart-box"><canvas id="chart-evaluation"></canvas></div>
              <h2>Latest evaluation per site</h2><div id="evaluation"></div></section>
            <section class="card"><h2>Rounds</h2><div id="rounds"></div></section>
            <section class="card"><h2>Setup</h2><div id="setup"></div></section>
            <section class="card"><h2>Job spec</h2><div id="spec"></div></section>
            <section class="card"><h2>Models</h2><div id="models"></div></section>
            """)
    }

    private func page(_ title: String, _ body: String) -> Response {
        WebPage(title: title, product: Self.product, navigation: Self.navigation, script: "dashboard.js", body: body).response()
    }
}

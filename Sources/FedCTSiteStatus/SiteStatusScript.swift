// SiteStatusScript: the status page's shell and site-status.js, which fills it from /api/status every few seconds.

/// The site status page's markup and script.
enum SiteStatusScript {
    static let body = """
        <div id="page" data-page="site-status"></div>
        <h1>Site status</h1>
        <section class="card"><h2>Agent</h2><div id="agent"></div></section>
        <div class="grid">
          <section class="card"><h2>Sent to the coordinator (egress ledger totals)</h2><div id="egress-totals"></div>
            <div class="chart-box"><canvas id="chart-egress"></canvas></div></section>
          <section class="card"><h2>Privacy budget</h2><div id="privacy"></div></section>
        </div>
        <section class="card"><h2>Latest egress ledger entries</h2><div id="egress-latest"></div></section>
        <section class="card"><h2>Data preflight</h2><div id="preflight"></div></section>
        <section class="card"><h2>Policy in force</h2><div id="policy"></div></section>
        """

    static let source = #"""
        "use strict";
        (() => {
          const $ = id => document.getElementById(id);
          async function refresh() {
            const view = await FedCT.get("/api/status");
            const a = view.agent.activity;
            FedCT.facts($("agent"), [
              ["state", FedCT.state(a.state)], ["job", a.jobID || "–"], ["round", a.round ? String(a.round) : "–"],
              ["since", FedCT.time(a.sinceUnix)], ["last problem", a.lastProblem || "–"],
              ["coordinator", view.agent.coordinator], ["agent version", view.agent.version],
            ]);
            const e = view.egress;
            FedCT.table($("egress-totals"), [
              { title: "kind", value: t => t.kind },
              { title: "messages", num: true, value: t => String(t.messages) },
              { title: "bytes", num: true, value: t => FedCT.bytes(t.bytes) },
            ], e.totals.concat(e.totals.length ? [{ kind: "all", messages: e.messages, bytes: e.bytes }] : []), "Nothing sent yet (" + e.ledger + " is empty).");
            FedCT.chart("chart-egress", "bar", e.totals.map(t => t.kind), [{ label: "bytes sent", data: e.totals.map(t => t.bytes) }], { x: "kind", y: "bytes", zero: true });
            FedCT.table($("egress-latest"), [
              { title: "time", value: r => r.time },
              { title: "kind", value: r => r.kind },
              { title: "method", value: r => r.method },
              { title: "job", value: r => r.jobID || "–" },
              { title: "round", num: true, value: r => r.round ?? "–" },
              { title: "bytes", num: true, value: r => FedCT.bytes(r.bytes) },
              { title: "SHA-256", value: r => FedCT.el("span", { class: "hash" }, r.sha256.slice(0, 16) + "…") },
            ], e.latest, "No entries yet.");
            const p = view.privacy;
            $("privacy").replaceChildren();
            const summary = FedCT.el("div");
            FedCT.facts(summary, [
              ["total ε", FedCT.number(p.totalEpsilon, 4) + " at δ = " + p.delta],
              ["budget", p.maxEpsilon ? FedCT.number(p.maxEpsilon, 4) + " (" + FedCT.number(p.remainingEpsilon, 4) + " left)" : "no limit set"],
              ["ledger", p.problem ? p.problem : p.ledger],
            ]);
            const jobs = FedCT.el("div");
            FedCT.table(jobs, [
              { title: "job", value: j => j.job }, { title: "level", value: j => j.level },
              { title: "rounds", num: true, value: j => String(j.rounds) }, { title: "ε alone", num: true, value: j => FedCT.number(j.epsilon, 4) },
            ], p.jobs, "No differentially private training recorded.");
            $("privacy").append(summary, jobs);
            const f = view.preflight;
            if (f.state !== "done") {
              $("preflight").replaceChildren(FedCT.el("p", { class: "empty" }, "Checking the data folder…"));
            } else {
              const facts = FedCT.el("div");
              FedCT.facts(facts, [
                ["scans", f.scans + " (" + f.trainScans + " train, " + f.heldoutScans + " held out)"],
                ["usable with follow-up", f.usableTrainScans + " train, " + f.usableHeldoutScans + " held out"],
                ["subjects", String(f.subjects)], ["event rows", String(f.eventRows)],
                ["problems", f.blocking + " blocking, " + f.warnings + " warnings"],
              ]);
              const list = FedCT.el("ul", {}, ...f.problems.map(p => FedCT.el("li", {}, p)));
              $("preflight").replaceChildren(facts, list);
            }
            FedCT.facts($("policy"), view.policy);
          }
          FedCT.poll(refresh, 3000);
        })();
        """#
}

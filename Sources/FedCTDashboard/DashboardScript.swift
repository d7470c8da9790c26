// DashboardScript: dashboard.js — renders the consortium, jobs and job pages from /api/… and refreshes them without reloading.

/// The dashboard's page script (served at `/assets/dashboard.js`; uses `FedCT` from fedct-common.js and Chart.js).
enum DashboardScript {
    static let source = #"""
        "use strict";
        (() => {
          const page = document.getElementById("page");
          const $ = id => document.getElementById(id);
          const jobLink = job => FedCT.el("a", { href: "/jobs/" + encodeURIComponent(job.id) }, job.id);
          const jobColumns = [
            { title: "job", value: jobLink },
            { title: "name", value: j => j.name },
            { title: "state", value: j => FedCT.state(j.state) },
            { title: "objective", value: j => j.objective },
            { title: "encoder", value: j => j.encoder },
            { title: "rounds", num: true, value: j => j.committedRounds + " / " + j.plannedRounds },
            { title: "submitted", value: j => FedCT.time(j.submittedUnix) },
            { title: "elapsed", num: true, value: j => FedCT.seconds(j.elapsedSeconds) },
          ];

          async function consortium() {
            const [sites, jobs] = await Promise.all([FedCT.get("/api/sites"), FedCT.get("/api/jobs?limit=5")]);
            FedCT.table($("sites"), [
              { title: "site", value: s => s.site },
              { title: "status", value: s => FedCT.state(s.status) },
              { title: "last seen", value: s => s.lastSeenUnix ? FedCT.time(s.lastSeenUnix) + " (" + FedCT.seconds(s.secondsSinceSeen) + " ago)" : "–" },
              { title: "agent", value: s => s.agentVersion || "–" },
              { title: "certificate expires", value: s => s.certificateExpiresUnix ? FedCT.time(s.certificateExpiresUnix) + " (" + Math.floor(s.certificateDaysLeft) + " days)" : "–" },
            ], sites.sites, "No site has called since the coordinator started.");
            $("revocation").textContent = sites.revocationListSignedUnix
              ? "Revocation list signed " + FedCT.time(sites.revocationListSignedUnix) + " (" + sites.revocationListAgeDays.toFixed(1) + " days ago)."
              : "No revocation list configured (tls.revocation_list).";
            FedCT.table($("recent-jobs"), jobColumns, jobs.jobs, "No jobs yet.");
          }

          async function jobs() {
            const view = await FedCT.get("/api/jobs");
            FedCT.table($("jobs"), jobColumns, view.jobs, "No jobs yet.");
          }

          async function job(id) {
            const view = await FedCT.get("/api/jobs/" + encodeURIComponent(id));
            const j = view.job;
            $("job-name").textContent = j.name;
            FedCT.facts($("job-now"), [
              ["state", FedCT.state(j.state)],
              ["phase", j.phase || "–"],
              ["round", view.currentRound > 0 && (j.state === "running") ? view.currentRound + " of " + j.plannedRounds + (view.attempt > 1 ? " (attempt " + view.attempt + ")" : "") : j.committedRounds + " of " + j.plannedRounds + " committed"],
              ["open round", j.state === "running" ? FedCT.seconds(view.roundElapsedSeconds) + ", " + FedCT.bytes(view.roundBytesDown) + " down, " + FedCT.bytes(view.roundBytesUp) + " up" : "–"],
              ["elapsed", FedCT.seconds(j.elapsedSeconds)],
              ["message", j.message || "–"],
            ]);
            FedCT.table($("progress"), [
              { title: "site", value: p => p.site },
              { title: "state", value: p => FedCT.state(p.state) },
              { title: "downloaded", num: true, value: p => FedCT.bytes(p.bytesDown) },
              { title: "uploaded", num: true, value: p => FedCT.bytes(p.bytesUp) },
              { title: "last heard", num: true, value: p => FedCT.seconds(p.secondsSinceSeen) + " ago" },
            ], view.progress, j.state === "running" ? "No site has the open round's task yet." : "No open round.");

            const labels = view.rounds.map(r => r.round);
            const lossSites = [...new Set(view.rounds.flatMap(r => Object.keys(r.siteTrainLosses)))].sort();
            FedCT.chart("chart-loss", "line", labels, [{ label: "pooled mean train loss", data: view.rounds.map(r => r.meanTrainLoss) }].concat(lossSites.map(site => ({
              label: site, data: view.rounds.map(r => r.siteTrainLosses[site] ?? null), dashed: true,
            }))), { x: "round", y: "train loss" });
            FedCT.chart("chart-bytes", "bar", labels, [
              { label: "down (models to sites)", data: view.rounds.map(r => r.bytesDown), stack: "bytes" },
              { label: "up (updates from sites)", data: view.rounds.map(r => r.bytesUp), stack: "bytes" },
            ], { x: "round", y: "bytes", stacked: true, zero: true });
            FedCT.chart("chart-seconds", "bar", labels, [{ label: "round seconds", data: view.rounds.map(r => r.seconds) }], { x: "round", y: "seconds", zero: true });
            FedCT.chart("chart-sites", "bar", labels, [
              { label: "contributing", data: view.rounds.map(r => r.sites.length), stack: "sites" },
              { label: "dropped", data: view.rounds.map(r => r.droppedSites.length), stack: "sites" },
            ], { x: "round", y: "sites", stacked: true, zero: true });
            const metricNames = [...new Set(view.evaluations.flatMap(e => e.pooled.map(p => p.name)))].sort().slice(0, 8);
            FedCT.chart("chart-evaluation", "line", view.evaluations.map(e => e.round), metricNames.map(name => ({
              label: name, data: view.evaluations.map(e => (e.pooled.find(p => p.name === name) || {}).value ?? null),
            })), { x: "evaluated round", y: "metric (pooled)" });

            const latest = view.evaluations[view.evaluations.length - 1];
            if (latest) {
              const names = [...new Set(latest.sites.flatMap(s => Object.keys(s.metrics)).concat(latest.pooled.map(p => p.name)))].sort();
              const rows = latest.sites.map(s => ({ site: s.site, cohort: s.cohortSize, metrics: s.metrics }))
                .concat([{ site: "pooled", cohort: null, metrics: Object.fromEntries(latest.pooled.map(p => [p.name, p.value])) }]);
              FedCT.table($("evaluation"), [{ title: "after round " + latest.round, value: r => r.site }, { title: "held-out scans", num: true, value: r => r.cohort ?? "–" }]
                .concat(names.map(n => ({ title: n, num: true, value: r => FedCT.number(r.metrics[n], 3) }))), rows, "");
            } else {
              FedCT.table($("evaluation"), [], [], "Not evaluated yet.");
            }
            FedCT.table($("rounds"), [
              { title: "round", num: true, value: r => r.round },
              { title: "train loss", num: true, value: r => FedCT.number(r.meanTrainLoss) },
              { title: "sites", value: r => r.sites.join(", ") },
              { title: "dropped", value: r => r.droppedSites.join(", ") || "–" },
              { title: "examples", num: true, value: r => r.exampleCount },
              { title: "down", num: true, value: r => FedCT.bytes(r.bytesDown) },
              { title: "up", num: true, value: r => FedCT.bytes(r.bytesUp) },
              { title: "seconds", num: true, value: r => r.seconds.toFixed(2) },
              { title: "secure", value: r => r.securelyAggregated ? "yes" : "no" },
            ], view.rounds.slice().reverse(), "No round committed yet.");
            if (view.setup) {
              FedCT.facts($("setup"), [
                ["sites", view.setup.sites.join(", ")], ["candidate codes", String(view.setup.candidates)], ["patients", String(view.setup.patients)],
                ["securely aggregated", view.setup.securelyAggregated ? "yes" : "no"], ["seconds", view.setup.seconds.toFixed(1)],
                ["derived tasks (prevalence)", view.setup.tasks.map(t => t[0] + " " + t[1]).join(", ") || "–"],
              ]);
            } else {
              $("setup").replaceChildren(FedCT.el("p", { class: "empty" }, "This job has fixed tasks (no setup stage)."));
            }
            FedCT.facts($("spec"), view.spec.facts);
            FedCT.table($("models"), [
              { title: "model", value: m => m.label },
              { title: "SHA-256", value: m => FedCT.el("span", { class: "hash" }, m.sha256) },
              { title: "", value: m => FedCT.el("a", { href: m.download, download: m.sha256.slice(0, 12) + ".safetensors" }, "download") },
            ], view.models.slice().reverse(), "No model yet.");
          }

          const kind = page.dataset.page;
          if (kind === "consortium") FedCT.poll(consortium, 5000);
          if (kind === "jobs") FedCT.poll(jobs, 5000);
          if (kind === "job") FedCT.poll(() => job(page.dataset.job), 2000);
        })();
        """#
}

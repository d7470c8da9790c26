// WebPage+Assets: the stylesheet and the small script library (JSON polling, tables, charts) both web pages share.

extension WebPage {
    /// A plain, laptop-sized layout.
    static let stylesheet = """
        :root { --ink: #1d2330; --muted: #5f6b7a; --line: #dde3ea; --accent: #1f6feb; --bad: #c62828; --good: #2e7d32; --warn: #b26a00; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #f6f8fa; }
        header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #fff; border-bottom: 1px solid var(--line); }
        header .product { font-weight: 600; }
        header nav a { margin-right: 16px; color: var(--accent); text-decoration: none; }
        header .status-line { margin-left: auto; color: var(--muted); font-size: 12px; }
        main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
        h1 { font-size: 20px; margin: 8px 0 12px; }
        h2 { font-size: 16px; margin: 24px 0 8px; }
        section.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 5px 10px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 500; font-size: 12px; }
        td.num, th.num { text-align: right; }
        .empty { color: var(--muted); font-style: italic; }
        .state { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; background: #eef1f4; }
        .state.live, .state.running, .state.succeeded, .state.uploaded, .state.reported { background: #e3f4e4; color: var(--good); }
        .state.training, .state.evaluating, .state.queued, .state.waiting_for_sites { background: #e6effd; color: var(--accent); }
        .state.dropped, .state.failed, .state.revoked, .state.cancelled { background: #fde7e7; color: var(--bad); }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
        .chart-box { position: relative; height: 260px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
        section.error { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 24px; margin-top: 32px; }
        .error-text { color: var(--bad); }
        """

    /// `FedCT`: fetches JSON, renders tables with text nodes only (no HTML from data), draws and updates Chart.js charts.
    static let commonScript = #"""
        "use strict";
        const FedCT = {
          charts: {},
          async get(url) {
            const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
            if (!response.ok) {
              let reason = response.status + " " + response.statusText;
              try { reason = (await response.json()).error || reason; } catch (ignored) { /* not JSON */ }
              throw new Error(reason);
            }
            return response.json();
          },
          el(tag, attributes, ...children) {
            const node = document.createElement(tag);
            for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
            for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
            return node;
          },
          state(name) { return FedCT.el("span", { class: "state " + String(name).replace(/[^a-z_]/g, "_") }, String(name)); },
          table(container, columns, rows, emptyText) {
            container.replaceChildren();
            if (rows.length === 0) { container.append(FedCT.el("p", { class: "empty" }, emptyText)); return; }
            const head = FedCT.el("tr", {}, ...columns.map(c => FedCT.el("th", c.num ? { class: "num" } : {}, c.title)));
            const body = rows.map(row => FedCT.el("tr", {}, ...columns.map(c => FedCT.el("td", c.num ? { class: "num" } : {}, c.value(row)))));
            container.append(FedCT.el("table", {}, FedCT.el("thead", {}, head), FedCT.el("tbody", {}, ...body)));
          },
          facts(container, pairs) {
            container.replaceChildren(FedCT.el("dl", { class: "facts" }, ...pairs.flatMap(([k, v]) => [FedCT.el("dt", {}, k), FedCT.el("dd", {}, v)])));
          },
          bytes(n) {
            if (n === null || n === undefined) return "–";
            const units = ["B", "KB", "MB", "GB", "TB"];
            let value = Number(n), unit = 0;
            while (Math.abs(value) >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
            return (unit === 0 ? value.toFixed(0) : value.toFixed(1)) + " " + units[unit];
          },
          seconds(s) {
            if (s === null || s === undefined) return "–";
            if (s < 60) return s.toFixed(1) + " s";
            if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
            return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
          },
          time(unix) { return unix ? new Date(unix * 1000).toLocaleString() : "–"; },
          number(x, digits) { return (x === null || x === undefined) ? "–" : Number(x).toFixed(digits ?? 4); },
          palette: ["#1f6feb", "#d9480f", "#2e7d32", "#8e24aa", "#00838f", "#b26a00", "#c62828", "#5d4037"],
          // A line or bar chart with axis titles and tooltips (a series with `dashed` is drawn thin and dashed); later calls
          // update the same chart in place.
          chart(id, type, labels, series, axes) {
            const datasets = series.map((s, i) => ({
              label: s.label, data: s.data, borderColor: FedCT.palette[i % 8], backgroundColor: FedCT.palette[i % 8] + (type === "bar" ? "cc" : "33"),
              borderWidth: s.dashed ? 1 : 2, borderDash: s.dashed ? [5, 4] : [], pointRadius: s.dashed ? 2 : 3, spanGaps: true, tension: 0, stack: s.stack,
            }));
            const existing = FedCT.charts[id];
            if (existing) {
              existing.data.labels = labels;
              existing.data.datasets = datasets;
              existing.update("none");
              return existing;
            }
            const canvas = document.getElementById(id);
            const chart = new Chart(canvas, {
              type, data: { labels, datasets },
              options: {
                responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
                plugins: { legend: { position: "bottom" }, tooltip: { enabled: true } },
                scales: {
                  x: { title: { display: true, text: axes.x }, stacked: !!axes.stacked },
                  y: { title: { display: true, text: axes.y }, stacked: !!axes.stacked, beginAtZero: !!axes.zero },
                },
              },
            });
            FedCT.charts[id] = chart;
            return chart;
          },
          // Runs `refresh` now and every `ms`; the header says when the data was last current, or why not.
          poll(refresh, ms) {
            const line = document.getElementById("status-line");
            const run = async () => {
              try {
                await refresh();
                line.textContent = "updated " + new Date().toLocaleTimeString();
                line.classList.remove("error-text");
              } catch (error) {
                line.textContent = "cannot refresh: " + error.message;
                line.classList.add("error-text");
              }
            };
            run();
            return setInterval(run, ms);
          },
        };
        window.FedCT = FedCT;
        """#
}

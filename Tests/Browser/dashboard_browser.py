#!/usr/bin/env python3
"""Browser test of the coordinator dashboard and a site's status page in real headless Chromium (Selenium).

Driven by Tests/FedCTIntegrationTests/DashboardBrowserTests.swift, which starts a coordinator (dashboard on) and two
sites (status pages on), then runs this script and submits a short job once this script says it is watching.

Checks: unauthenticated requests are refused (401) and the server's certificate is not trusted without the consortium
CA; Chromium trusts the CA through an NSS database made for this run (no certificate error is ignored); the consortium,
jobs and job pages show the job; the loss chart gains points while the page stays open (no reload) and ends with one
point per committed round, with each site's own loss line (a plain job); the site page shows the egress ledger totals;
no JavaScript console errors.
Exits 0 when every check passed, 1 with the failed check otherwise. With --screenshots DIR it saves each page as PNG.
"""
import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)
    print("ok:", message, flush=True)


def wait_for(what, predicate, timeout, interval=0.25):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as error:  # the page may be between renders
            last = error
        time.sleep(interval)
    raise CheckFailed(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def trusting_home(ca_file):
    """A HOME whose NSS database trusts the consortium CA for TLS servers (as an admin would import it)."""
    home = Path(tempfile.mkdtemp(prefix="fedct-browser-home-"))
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "fedct-consortium-ca", "-i", ca_file], check=True)
    return home


def http_status(url, context=None):
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboard-login", required=True, help="login link printed by fedctl dashboard login")
    parser.add_argument("--site-login", required=True, help="login link printed by fedct-site status-link")
    parser.add_argument("--ca", required=True, help="the consortium CA (PEM)")
    parser.add_argument("--ready-file", required=True, help="written once the dashboard is open; the driver then submits the job")
    parser.add_argument("--watching-file", required=True,
                        help="written once the job page shows its first points; the driver holds the job's rounds until then")
    parser.add_argument("--rounds", type=int, required=True, help="the job's planned rounds")
    parser.add_argument("--screenshots", help="folder to save consortium.png, jobs.png, job.png and site-status.png in")
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    base = args.dashboard_login.split("/login?")[0]
    site_base = args.site_login.split("/login?")[0]

    # The certificate: verified against the consortium CA it is accepted; without it, refused.
    trusted = ssl.create_default_context(cafile=args.ca)
    status, body = http_status(base + "/api/jobs", trusted)
    check(status == 401 and "fedctl dashboard login" in body, f"GET /api/jobs without a session is refused with 401 ({status})")
    status, _ = http_status(base + "/", trusted)
    check(status == 401, f"GET / without a session is refused with 401 ({status})")
    status, _ = http_status(site_base + "/api/status")
    check(status == 401, f"the site status endpoint without a session is refused with 401 ({status})")
    try:
        urllib.request.urlopen(base + "/api/jobs", context=ssl.create_default_context(), timeout=10)
        raise CheckFailed("the dashboard's certificate was accepted without the consortium CA")
    except urllib.error.URLError as error:
        check(isinstance(error.reason, ssl.SSLCertVerificationError), "without the consortium CA the certificate does not verify")

    home = trusting_home(args.ca)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100",
                 "--no-first-run", "--disable-extensions", "--disable-background-networking"]:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={home / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver", env={**os.environ, "HOME": str(home)})
    driver = webdriver.Chrome(service=service, options=options)
    console_errors = []

    def drain_console():
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                console_errors.append(entry["message"])

    def shoot(name):
        """Saves the whole page (the window grown to its height, up to 3000 px) as PNG."""
        if args.screenshots:
            Path(args.screenshots).mkdir(parents=True, exist_ok=True)
            height = driver.execute_script("return document.documentElement.scrollHeight;")
            driver.set_window_size(1400, min(max(height, 700) + 40, 3000))
            time.sleep(0.5)  # the charts resize with the window
            driver.save_screenshot(str(Path(args.screenshots) / name))
            driver.set_window_size(1400, 1100)

    try:
        driver.set_page_load_timeout(30)
        # Logging in: the link sets the session cookie and lands on the consortium page, over HTTPS the browser trusts.
        driver.get(args.dashboard_login)
        check(driver.current_url.rstrip("/") == base, f"the login link redirects to the dashboard ({driver.current_url})")
        check("Privacy error" not in driver.title and "Consortium" in driver.title, f"Chromium trusts the certificate ({driver.title!r})")
        wait_for("both sites on the consortium page",
                 lambda: all(s in driver.find_element(By.ID, "sites").text for s in ["site-1", "site-2"]), 60)
        Path(args.ready_file).write_text("ready\n")

        # The jobs page lists the job the driver submits now.
        driver.get(base + "/jobs")
        link = wait_for("the submitted job on the jobs page", lambda: driver.find_elements(By.CSS_SELECTOR, "#jobs a"), 60)
        job_id = link[0].text
        check(bool(job_id), f"the jobs page lists job {job_id}")

        # The job page: the loss chart grows while it stays open, without a reload.
        driver.get(base + "/jobs/" + job_id)
        driver.execute_script("window.fedctNotReloaded = true;")
        points = "return window.FedCT.charts['chart-loss'] ? window.FedCT.charts['chart-loss'].data.datasets[0].data.length : null;"
        first = wait_for("the loss chart", lambda: driver.execute_script(points) is not None and [driver.execute_script(points)], 30)[0]
        check(first < args.rounds, f"the job page opened before the job ended ({first} of {args.rounds} rounds plotted)")
        Path(args.watching_file).write_text("watching\n")
        grown = wait_for("more loss points without reloading", lambda: (driver.execute_script(points) or 0) > first and driver.execute_script(points), args.timeout)
        check(driver.execute_script("return window.fedctNotReloaded === true;"), f"the loss chart grew from {first} to {grown} points with no reload")
        shoot("job-running.png")
        wait_for("the job to succeed on the page", lambda: "succeeded" in driver.find_element(By.ID, "job-now").text, args.timeout)
        time.sleep(2.5)  # one more refresh after the final state
        committed = driver.execute_script(
            "return fetch('/api/jobs/' + document.getElementById('page').dataset.job).then(r => r.json()).then(v => v.rounds.length);")
        final = driver.execute_script(points)
        check(committed == args.rounds and final == committed, f"one loss point per committed round ({final} points, {committed} rounds)")
        check(driver.execute_script("return window.fedctNotReloaded === true;"), "the job page was never reloaded")
        rows = driver.find_elements(By.CSS_SELECTOR, "#rounds tbody tr")
        check(len(rows) == args.rounds, f"the rounds table has {len(rows)} rows")
        tooltip = driver.execute_script("const c = window.FedCT.charts['chart-loss']; return [c.options.plugins.tooltip.enabled, c.options.scales.x.title.text, c.options.scales.y.title.text];")
        check(tooltip == [True, "round", "train loss"], f"the loss chart has tooltips and axis titles {tooltip}")
        per_site = driver.execute_script(
            "return window.FedCT.charts['chart-loss'].data.datasets.slice(1).map(d => [d.label, d.data.filter(v => v !== null).length]);")
        check(sorted(label for label, _ in per_site) == ["site-1", "site-2"] and all(count == args.rounds for _, count in per_site),
              f"the loss chart has each site's own loss line, one point per round, beside the pooled one ({per_site})")
        evaluation = driver.execute_script(
            "const c = window.FedCT.charts['chart-evaluation']; return c ? [c.data.labels.length, c.data.datasets.filter(d => d.data.some(v => v !== null)).length] : null;")
        check(evaluation is not None and evaluation[0] >= 2 and evaluation[1] >= 1,
              f"the evaluation chart plots metrics over the evaluated rounds ([rounds, metrics with values]: {evaluation})")
        models = driver.find_elements(By.CSS_SELECTOR, "#models a")
        check(len(models) == args.rounds + 1, f"{len(models)} model download links (initial + one per round)")
        shoot("job.png")
        downloaded = driver.execute_script("return fetch(arguments[0]).then(r => r.ok ? r.arrayBuffer().then(b => b.byteLength) : -r.status);",
                                           models[0].get_attribute("href"))
        check(downloaded > 0, f"a model downloads through the dashboard ({downloaded} bytes)")

        driver.get(base + "/jobs")
        wait_for("the job's state on the jobs page", lambda: "succeeded" in driver.find_element(By.ID, "jobs").text, 15)
        shoot("jobs.png")
        driver.get(base + "/")
        wait_for("the consortium page", lambda: "site-1" in driver.find_element(By.ID, "sites").text and driver.find_elements(By.CSS_SELECTOR, "#recent-jobs a"), 15)
        shoot("consortium.png")

        # Bad input in the browser too: an unknown job is a 404 page that says so.
        drain_console()
        driver.get(base + "/jobs/no-such-job")
        check("no job 'no-such-job'" in driver.find_element(By.TAG_NAME, "body").text, "an unknown job id shows a 404 page naming it")
        driver.get_log("browser")  # that page's 404 is expected: leave it out of the console check

        # The site's status page: ledger totals per kind, after logging in with the link the site printed.
        driver.get(args.site_login)
        check(driver.current_url.rstrip("/") == site_base, f"the site login link redirects to the status page ({driver.current_url})")
        totals = wait_for("the egress totals", lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#egress-totals tbody tr")], 30)
        check(any(r.startswith("all ") for r in totals) and any(r.startswith("update") for r in totals),
              f"the site page shows the egress ledger totals per kind: {totals}")
        wait_for("the preflight summary", lambda: "scans" in driver.find_element(By.ID, "preflight").text, 60)
        check("require secure aggregation" in driver.find_element(By.ID, "policy").text, "the site page shows the policy in force")
        time.sleep(1)
        shoot("site-status.png")
        drain_console()
        check(not console_errors, f"no JavaScript console errors ({console_errors})")
    finally:
        driver.quit()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print("FAILED:", failure, flush=True)
        sys.exit(1)
    print("dashboard browser test: all checks passed", flush=True)

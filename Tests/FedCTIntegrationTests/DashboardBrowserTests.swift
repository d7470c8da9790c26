// Multi-process browser test: a coordinator with its dashboard and two sites with their status pages, a short job, and
// Tests/Browser/dashboard_browser.py driving real headless Chromium through Selenium (installed by Scripts/test.sh).
import FedCTProto
import Foundation
import Glibc
import XCTest

final class DashboardBrowserTests: XCTestCase {
    static let rounds: Int32 = 12

    func testTheDashboardAndASiteStatusPageInHeadlessChromium() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../Browser/dashboard_browser.py").standardized
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/certutil"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return XCTFail("\(tool) is missing: run `bash Scripts/test.sh`, which installs chromium, chromium-driver, libnss3-tools and selenium")
        }
        let harness = try ProcessHarness()
        let federation = try harness.startFederation(sites: ["site-1", "site-2"], patientsPerSite: [24, 20], seed: 31,
                                                     extra: "dashboard: {listen: 127.0.0.1:0}")
        let sites = try ["site-1", "site-2"].map { site in
            try federation.startSite(site, extra: "status: {listen: 127.0.0.1:0}\nprivacy: {require_secure_aggregation: false}", exitAfterJob: false)
        }
        let state = harness.folder.appending(path: "state")
        _ = try harness.waitForFile(state.appending(path: "dashboard.url"))
        _ = try harness.waitForFile(harness.folder.appending(path: "state-site-1/status.url"), timeout: 60)
        let dashboardLogin = try harness.run("fedctl", ["dashboard", "login", "--config", federation.coordinatorConfig, "--minutes", "15"])
        XCTAssertEqual(dashboardLogin.status, 0, dashboardLogin.output)
        let siteLogin = try harness.run("fedct-site", ["status-link", "--config", harness.folder.appending(path: "site-1.yaml").path, "--minutes", "15"])
        XCTAssertEqual(siteLogin.status, 0, siteLogin.output)

        let ready = harness.folder.appending(path: "browser-ready"), watchingJob = harness.folder.appending(path: "browser-watching-job")
        var arguments = [
            script.path, "--dashboard-login", Self.lastLine(dashboardLogin.output), "--site-login", Self.lastLine(siteLogin.output),
            "--ca", harness.folder.appending(path: "pki/admin/ca.pem").path, "--ready-file", ready.path,
            "--watching-file", watchingJob.path, "--rounds", "\(Self.rounds)",
        ]
        if let folder = ProcessInfo.processInfo.environment["FEDCT_SCREENSHOTS"] { arguments += ["--screenshots", folder] }
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        browser.arguments = ["python3"] + arguments
        let output = harness.folder.appending(path: "logs/browser.log")
        try Data().write(to: output)
        browser.standardOutput = try FileHandle(forWritingTo: output)
        browser.standardError = browser.standardOutput
        try browser.run()
        defer { if browser.isRunning { browser.terminate() } }

        // The job starts once the browser watches, so its page sees rounds being committed.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: ready.path) && browser.isRunning && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let watching = FileManager.default.fileExists(atPath: ready.path)
        XCTAssertTrue(watching, "the browser never opened the dashboard:\n\(harness.log("browser"))\n\(harness.log("coordinator"))")
        guard watching else { return }
        // The page must open while rounds are still to come, however fast this machine trains: site-2 is stopped
        // (SIGSTOP) before the job starts, so no round can close until the browser has the job page open and says so;
        // then it continues and the rounds commit while the page watches.
        let held = sites[1].processIdentifier
        kill(held, SIGSTOP)
        defer { kill(held, SIGCONT) }
        var spec = Fedct_V1_JobSpec.tiny(name: "browser", rounds: Self.rounds, minSites: 2, secure: false)
        spec.training.localEpochs = 10  // rounds long enough to be seen committing one by one
        // Evaluated every 4 rounds with a cohort floor the small held-out sets meet, so the page plots metrics over rounds.
        spec.evaluation.enabled = true
        spec.evaluation.everyRounds = 4
        spec.evaluation.minCohort = 2
        let job = try await federation.submit(spec)
        let watchingDeadline = Date().addingTimeInterval(40)
        while !FileManager.default.fileExists(atPath: watchingJob.path) && browser.isRunning && Date() < watchingDeadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        kill(held, SIGCONT)
        let end = Date().addingTimeInterval(420)
        while browser.isRunning && Date() < end { try await Task.sleep(for: .milliseconds(200)) }
        XCTAssertFalse(browser.isRunning, "the browser test did not finish within 7 minutes:\n\(harness.log("browser"))")
        browser.waitUntilExit()
        let status = try await federation.admin.job(job.jobID)
        XCTAssertEqual(browser.terminationStatus, 0, """
            \(harness.log("browser"))
            job: \(status.state) \(status.rounds.count) rounds \(status.message)
            \(harness.log("coordinator").suffix(4000))
            """)
        print(harness.log("browser"))
    }

    static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
    }
}

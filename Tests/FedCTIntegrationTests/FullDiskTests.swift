// FullDiskTests: a site's egress ledger, its preprocessing cache and atomic state files on a small tmpfs that fills —
// a clear error naming the file, nothing torn or half-written, and the site goes on once space is freed.
import FedCTAudit
import FedCTCore
import FedCTData
import FedCTIdentity
import FedCTStorage
import Foundation
import XCTest

final class FullDiskTests: XCTestCase {
    private var disk: SmallFilesystem!

    override func setUpWithError() throws { disk = try SmallFilesystem(bytes: 512 << 10) }
    override func tearDown() { disk?.unmount() }

    private func identity() throws -> LedgerIdentity {
        let site = try ConsortiumAuthority(consortium: "full-disk").issue(name: "site-1", role: .site)
        let signer = try CertificateKeySigner(privateKeyPEM: site.privateKeyPEM, source: "key.pem")
        return LedgerIdentity(certificatePEM: site.certificatePEM) { try signer.sign($0) }
    }

    private func entry(_ index: Int) -> EgressEntry {
        var intent = EgressEntry(type: .intent)
        intent.kind = "join"
        intent.method = "/fedct.v1.Site/Join"
        intent.bytes = index
        intent.sha256 = String(repeating: "0", count: 64)
        return intent
    }

    /// The ledger's lines: every one seals, sequence numbers run without a gap, and the file ends with a newline.
    private func assertIntactLedger(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        let bytes = [UInt8](try Data(contentsOf: url))
        XCTAssertEqual(bytes.last, 0x0A, "the ledger ends in a torn line", file: file, line: line)
        let seqs = try bytes.split(separator: 0x0A).map { try EgressLedgerChain.unseal($0).entry.seq }
        XCTAssertEqual(seqs, Array(seqs.indices).map { $0 + (seqs.first ?? 0) }, "sequence numbers skip or repeat", file: file, line: line)
        return seqs
    }

    func testTheEgressLedgerRefusesCleanlyWhenTheDiskFillsAndGoesOnOnceSpaceIsFreed() throws {
        let state = disk.folder.appending(path: "state")
        let identity = try identity()
        var ledger: EgressLedgerFile? = try EgressLedgerFile(folder: state, identity: { identity }, agentVersion: "test", policy: [:])
        try ledger!.append(entry(0))
        try disk.fill()
        // The ledger's last page may still take a line or two; then a line is cut part-way by ENOSPC.
        var refusal: FedCTError?
        for index in 1...64 {
            do { try ledger!.append(entry(index)) } catch let error as FedCTError {
                refusal = error
                break
            }
        }
        let error = try XCTUnwrap(refusal, "appending never failed on a full disk")
        XCTAssertEqual(error.code, .io)
        XCTAssertTrue(error.message.contains(ledger!.url.path), error.message)
        XCTAssertTrue(error.message.lowercased().contains("no space left on device"), error.message)
        XCTAssertTrue(error.message.contains("the ledger is intact"), error.message)
        let before = try assertIntactLedger(ledger!.url)

        try disk.free()
        try ledger!.append(entry(100))
        ledger = nil
        // A restarted agent continues the same chain (it refuses a ledger with an unreadable line).
        let reopened = try EgressLedgerFile(folder: state, identity: { identity }, agentVersion: "test", policy: [:])
        try reopened.append(entry(101))
        let after = try assertIntactLedger(reopened.url)
        XCTAssertEqual(after.count, before.count + 3, "one entry after freeing space, the reopening's open entry and one more")
    }

    func testAtomicStateFilesNameThePathAndLeaveTheOldContentWhenTheDiskIsFull() throws {
        let url = disk.folder.appending(path: "job-state.json")
        try AtomicFile.write(Array("old".utf8), to: url)
        try disk.fill()
        XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 1, count: 64 << 10), to: url)) { error in
            let text = ErrorText.describe(error)
            XCTAssertTrue(text.contains(url.path) && text.lowercased().contains("no space left on device"), text)
        }
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "old", "the old content stays")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: disk.folder.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary file is left behind")
        try disk.free()
        try AtomicFile.write(Array("new".utf8), to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "new")
    }

    func testThePreprocessingCacheServesTheScanUncachedWhenFullAndStoresItOnceSpaceIsFreed() throws {
        let scanFolder = FileManager.default.temporaryDirectory.appending(path: "fedct-full-disk-scan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scanFolder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scanFolder) }
        let scan = scanFolder.appending(path: "scan.nii").path
        let size = 24
        let voxels = (0..<(size * size * size)).map { Float(($0 * 37) % 2000) - 1000 }
        try Volume(width: size, height: size, depth: size, spacing: (1, 1, 1), voxels: voxels).writeNIfTI(path: scan)
        let pipeline = Preprocessing(shape: [20, 20, 20], spacing: (1, 1, 1))
        let expected = pipeline.apply(try ScanImage.read(path: scan))

        let cache = try PreprocessingCache(directory: disk.folder.appending(path: "state/preprocessed").path)
        try disk.fill()
        XCTAssertEqual(try cache.input(path: scan, pipeline: pipeline), expected, "a full cache disk still serves the scan")
        let stored = { try FileManager.default.contentsOfDirectory(atPath: cache.directory) }
        XCTAssertEqual(try stored(), [], "nothing partial is stored")
        try disk.free()
        XCTAssertEqual(try cache.input(path: scan, pipeline: pipeline), expected)
        XCTAssertEqual(try stored().filter { $0.hasSuffix(".fctpre") }.count, 1, "the entry is stored once there is space")
        XCTAssertEqual(try cache.input(path: scan, pipeline: pipeline), expected)
        XCTAssertEqual(cache.statistics.hits, 1)
        XCTAssertEqual(cache.statistics.misses, 2)
    }
}

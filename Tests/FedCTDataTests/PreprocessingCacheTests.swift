// Tests of the per-scan preprocessing cache: hits on a second load, misses on a changed pipeline or source, rebuilds of corrupt entries, LRU bound.
@testable import FedCTData
import FedCTCore
import XCTest

final class PreprocessingCacheTests: XCTestCase {
    private var folder: URL!
    private var site: URL!
    private var cacheFolder: String { folder.appending(path: "state/preprocessed").path }
    private let labeler = TTELabeler(taskCodes: SyntheticConsortium.outcomeCodes, pieceEdgesDays: [90, 365, 1825])
    private let pipeline = Preprocessing(shape: [12, 12, 12], spacing: (1.5, 1.5, 1.5))

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-preprocessing-cache-\(UUID().uuidString)")
        try SyntheticConsortium(patientsPerSite: [6], volumeSize: 16, seed: 5).write(to: folder.appending(path: "synthetic"))
        site = folder.appending(path: "synthetic/site-1")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cacheFolder).filter { $0.hasSuffix(".fctpre") }.sorted()
    }

    private func load(_ pipeline: Preprocessing, _ cache: PreprocessingCache) throws -> [SiteExample] {
        let dataset = try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: pipeline, cache: cache)
        return dataset.train + dataset.heldout
    }

    func testSecondLoadReadsTheCacheOnlyAndGivesTheSameInputs() throws {
        let uncached = try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: pipeline)
        let scans = uncached.train.count + uncached.heldout.count
        XCTAssertGreaterThan(scans, 0)
        let first = try PreprocessingCache(directory: cacheFolder)
        let cold = try load(pipeline, first)
        XCTAssertEqual(first.statistics, .init(hits: 0, misses: scans, rebuilt: 0, evicted: 0))
        XCTAssertEqual(try entries().count, scans)
        let second = try PreprocessingCache(directory: cacheFolder)
        let warm = try load(pipeline, second)
        XCTAssertEqual(second.statistics.hits, scans)
        XCTAssertEqual(second.statistics.sourceReads, 0)
        XCTAssertEqual(cold.map(\.input), (uncached.train + uncached.heldout).map(\.input))
        XCTAssertEqual(warm.map(\.input), cold.map(\.input))
    }

    func testAChangedParameterOrATouchedSourceMisses() throws {
        _ = try load(pipeline, try PreprocessingCache(directory: cacheFolder))
        let scans = try entries().count
        var windowed = pipeline
        windowed.windowHigh = 400
        let changed = try PreprocessingCache(directory: cacheFolder)
        let inputs = try load(windowed, changed)
        XCTAssertEqual(changed.statistics.misses, scans)
        XCTAssertEqual(changed.statistics.hits, 0)
        XCTAssertEqual(try entries().count, 2 * scans)
        let expected = try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: windowed)
        XCTAssertEqual(inputs.map(\.input), (expected.train + expected.heldout).map(\.input))

        let manifest = try CohortManifest(path: site.appending(path: SiteDataset.manifestName).path)
        let touched = try XCTUnwrap(manifest.entries.first).imagePath
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: touched)
        let afterTouch = try PreprocessingCache(directory: cacheFolder)
        _ = try load(pipeline, afterTouch)
        XCTAssertEqual(afterTouch.statistics.misses, 1)
        XCTAssertEqual(afterTouch.statistics.hits, scans - 1)
    }

    func testACorruptOrTruncatedEntryIsRebuilt() throws {
        let reference = try load(pipeline, try PreprocessingCache(directory: cacheFolder)).map(\.input)
        let names = try entries()
        let flipped = "\(cacheFolder)/\(names[0])", truncated = "\(cacheFolder)/\(names[1])"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: flipped))
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: flipped))
        let shortened = try XCTUnwrap(FileManager.default.contents(atPath: truncated))
        try shortened.prefix(shortened.count - 100).write(to: URL(fileURLWithPath: truncated))

        let cache = try PreprocessingCache(directory: cacheFolder)
        XCTAssertEqual(try load(pipeline, cache).map(\.input), reference)
        XCTAssertEqual(cache.statistics.rebuilt, 2)
        XCTAssertEqual(cache.statistics.hits, names.count - 2)
        XCTAssertEqual(try entries(), names)
        let again = try PreprocessingCache(directory: cacheFolder)
        _ = try load(pipeline, again)
        XCTAssertEqual(again.statistics.hits, names.count)
    }

    func testTheSizeBoundEvictsTheLeastRecentlyUsedEntries() throws {
        let entryBytes = PreprocessingCache.headerSize + 12 * 12 * 12 * 4
        let cache = try PreprocessingCache(directory: cacheFolder, maxBytes: 2 * entryBytes)
        let scans = try load(pipeline, cache).count
        XCTAssertEqual(try entries().count, 2)
        XCTAssertEqual(cache.statistics.evicted, scans - 2)
    }

    func testEachVolumeOfA4DNIfTIHasItsOwnEntry() throws {
        let fixture = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/nifti/two_volumes.nii", withExtension: nil), "missing Fixtures/nifti/two_volumes.nii")
        let small = Preprocessing(shape: [4, 4, 4])
        let cache = try PreprocessingCache(directory: cacheFolder)
        let first = try cache.input(path: "\(fixture.path)#0", pipeline: small)
        let second = try cache.input(path: "\(fixture.path)#1", pipeline: small)
        XCTAssertEqual(first, small.apply(try ScanImage.read(path: "\(fixture.path)#0")))
        XCTAssertEqual(second, small.apply(try ScanImage.read(path: "\(fixture.path)#1")))
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try entries().count, 2)
        XCTAssertEqual(try cache.input(path: "\(fixture.path)#1", pipeline: small), second)
        XCTAssertEqual(cache.statistics.hits, 1)
    }

    func testASeriesFolderKeyCoversEveryFile() throws {
        let series = folder.appending(path: "series").path
        let volume = Volume(width: 4, height: 4, depth: 3, spacing: (1, 1, 2), voxels: (0..<48).map { Float($0 * 10) })
        let files = try volume.writeDICOMSeries(folder: series, studyInstanceUID: "2.25.5", seriesInstanceUID: "2.25.6", patientID: "p")
        let before = try PreprocessingCache.key(path: series, pipeline: pipeline)
        XCTAssertEqual(try PreprocessingCache.key(path: series, pipeline: pipeline), before)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: files[1])
        XCTAssertNotEqual(try PreprocessingCache.key(path: series, pipeline: pipeline), before)
    }
}

// MallocArenaProcessTests: fedctl's training runs with one glibc malloc arena, set before its first thread allocates.
import Foundation
import XCTest

final class MallocArenaProcessTests: XCTestCase {
    /// `fedctl bench-train` trains on a thread other than the main one (with libtorch's intra-op workers beside it) and
    /// reports the process's malloc arenas at the end: one, because `main` asked for it before any thread allocated.
    /// Asked too late, glibc would have created an arena for each of those threads and this would read 3 or more.
    func testTrainingStepsShareTheMainMallocArena() throws {
        let harness = try ProcessHarness()
        let run = try harness.run("fedctl", ["bench-train", "--depth", "10", "--width", "8", "--size", "16", "--stem-stride", "1", "--norm", "group",
                                             "--threads", "2", "--warmup", "0", "--steps", "2"], timeout: 120)
        XCTAssertEqual(run.status, 0, run.output)
        let fields = run.output.split(whereSeparator: \.isWhitespace).map(String.init)
        let index = try XCTUnwrap(fields.firstIndex(of: "malloc_arenas"), "no malloc_arenas in: \(run.output)")
        XCTAssertEqual(fields.dropFirst(index + 1).first, "1", run.output)
    }
}

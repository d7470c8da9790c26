// WorkerOrderTests: the round order the agent broadcasts to its workers — round trip and refusals.
import FedCTProto
@testable import FedCTSite
import XCTest

final class WorkerOrderTests: XCTestCase {
    private func order(dpSGDSeed: UInt64?) -> WorkerOrder {
        var task = Fedct_V1_Task()
        task.jobID = "job-7"
        task.round = 3
        task.spec.name = "tiny"
        task.spec.seed = 99
        return WorkerOrder(task: task, start: [0, -1.5, .pi, 1e-30], seed: .max - 4, dpSGDSeed: dpSGDSeed, examplesSHA256: Array(0..<32))
    }

    func testAnOrderSurvivesItsBytes() throws {
        for dpSGDSeed in [nil, 0, UInt64.max] as [UInt64?] {
            let sent = order(dpSGDSeed: dpSGDSeed)
            XCTAssertEqual(try WorkerOrder(decoding: try sent.encoded(), source: "worker 1"), sent)
        }
    }

    func testTruncatedOrForeignBytesAreRefusedNamingTheWorker() throws {
        let bytes = try order(dpSGDSeed: 5).encoded()
        for bad in [Array(bytes.prefix(20)), Array(bytes.dropLast(2)), Array("not an order at all, just bytes".utf8) + bytes] {
            XCTAssertThrowsError(try WorkerOrder(decoding: bad, source: "worker 2")) { error in
                XCTAssertTrue("\(error)".contains("worker 2: the agent's round order"), "\(error)")
            }
        }
    }
}

// FedCTServicesTests: the typed method definitions are exactly the services Protos/fedct/v1 declares — paths, message types, callers.
import FedCTProto
import FedCTProtocol
import Foundation
import XCTest

final class FedCTServicesTests: XCTestCase {
    /// `rpc Name(Request) returns (Response)` lines of a service in a committed .proto file, as path → (request, response).
    private func declared(_ file: String, service: String) throws -> [String: (request: String, response: String)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Protos/fedct/v1/\(file)")
        let text = try String(contentsOf: url, encoding: .utf8)
        let rpc = try NSRegularExpression(pattern: #"rpc\s+(\w+)\s*\(\s*(?:stream\s+)?(\w+)\s*\)\s*returns\s*\(\s*(?:stream\s+)?(\w+)\s*\)"#)
        var methods: [String: (String, String)] = [:]
        for match in rpc.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let group = { (index: Int) in String(text[Range(match.range(at: index), in: text)!]) }
            methods["/fedct.v1.\(service)/\(group(1))"] = ("fedct.v1.\(group(2))", "fedct.v1.\(group(3))")
        }
        return methods
    }

    func testEveryDeclaredMethodHasOneDefinitionWithItsMessageTypes() throws {
        for (file, service, methods) in [("site.proto", "Site", SiteRPC.all), ("admin.proto", "Admin", AdminRPC.all)] {
            let proto = try declared(file, service: service)
            XCTAssertEqual(proto.count, service == "Site" ? 12 : 5, "\(file): rpc lines read")
            XCTAssertEqual(Set(methods.map(\.path)), Set(proto.keys), "\(service): the definitions are the .proto's methods")
            for method in methods {
                XCTAssertEqual(method.requestMessage, proto[method.path]?.request, method.path)
                XCTAssertEqual(method.responseMessage, proto[method.path]?.response, method.path)
                XCTAssertEqual(method.caller, service == "Site" ? .site : .admin, method.path)
            }
        }
        XCTAssertEqual(FedCTServices.byPath.count, 17)
    }

    func testSiteCallsCarryTheLedgerKindsTheReceiptsUse() {
        XCTAssertEqual(SiteRPC.all.filter { $0.ledgerKind == nil }.map(\.path), [SiteRPC.uploadUpdate.path, SiteRPC.submitSetup.path],
                       "only these two take their kind from the message")
        XCTAssertEqual(Set(SiteRPC.all.compactMap(\.ledgerKind)).count, 10, "kinds are distinct")
        XCTAssertTrue(AdminRPC.all.allSatisfy { $0.ledgerKind == nil })
        XCTAssertEqual(SiteRPC.secAggStep.info.shortName, "Site/SecAggStep")
    }

    func testAMalformedMessageIsNamedByMethodAndType() throws {
        XCTAssertThrowsError(try SiteRPC.join.decodeRequest([0xFF, 0xFF, 0xFF])) { error in
            XCTAssertTrue("\(error)".hasPrefix("/fedct.v1.Site/Join: malformed fedct.v1.JoinRequest ("), "\(error)")
        }
        XCTAssertThrowsError(try AdminRPC.getJob.decodeResponse([0x0A, 0x05, 0x01])) { error in
            XCTAssertTrue("\(error)".hasPrefix("/fedct.v1.Admin/GetJob: malformed fedct.v1.JobStatus ("), "\(error)")
        }
        var request = Fedct_V1_HeartbeatRequest()
        request.jobID = "job-0001"
        XCTAssertEqual(try SiteRPC.heartbeat.decodeRequest(try request.serializedBytes()).jobID, "job-0001")
    }
}

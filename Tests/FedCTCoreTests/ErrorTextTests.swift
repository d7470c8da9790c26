// ErrorTextTests: Foundation file, POSIX and decoding errors read as one line naming the file and what to do.
@testable import FedCTCore
import FedCTStorage
import Foundation
import XCTest

final class ErrorTextTests: XCTestCase {
    private func assertReadable(_ text: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        for dump in ["Error Domain=", "NSCocoaErrorDomain", "UserInfo=", "Swift.DecodingError", "dataCorrupted("] {
            XCTAssertFalse(text.contains(dump), "framework text \(dump) in: \(text)", file: file, line: line)
        }
        for word in mentions { XCTAssertTrue(text.contains(word), "\(word) not in: \(text)", file: file, line: line) }
    }

    func testFoundationFileErrorsNameThePathAndWhatToDo() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "errortext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appending(path: "missing.safetensors")
        XCTAssertThrowsError(try Data(contentsOf: missing)) {
            assertReadable(ErrorText.describe($0), mentions: [missing.path, "no such file", "check the path"])
        }
        let binary = folder.appending(path: "binary.csv")
        try Data([0xff, 0xfe, 0x00, 0xc3, 0x28]).write(to: binary)
        // Foundation's String(contentsOf:encoding:) throws this without the path; TextFile.read carries it.
        XCTAssertThrowsError(try TextFile.read(binary)) {
            assertReadable(ErrorText.describe($0), mentions: [binary.path, "not UTF-8 text"])
        }
        XCTAssertThrowsError(try TextFile.read(missing)) {
            assertReadable(ErrorText.describe($0), mentions: [missing.path, "no such file"])
        }
        let text = folder.appending(path: "text.csv")
        try Data("a,é\n".utf8).write(to: text)
        XCTAssertEqual(try TextFile.read(path: text.path), "a,é\n")
        XCTAssertThrowsError(try Data(contentsOf: folder)) {
            assertReadable(ErrorText.describe($0), mentions: [folder.path])
        }
        let cause = FedCTError(.io, "cannot load the model", cause: CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: missing.path]))
        assertReadable(ErrorText.describe(cause), mentions: ["cannot load the model", missing.path, "no such file"])
    }

    func testPOSIXAndDecodingErrorsAreOneReadableLine() throws {
        let full = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC), userInfo: [NSFilePathErrorKey: "/state/models/abc"])
        assertReadable(ErrorText.describe(full), mentions: ["/state/models/abc", "no space left on device", "free some space"])
        struct Ledger: Decodable { let entries: [Int] }
        XCTAssertThrowsError(try JSONDecoder().decode(Ledger.self, from: Data("{\"entries\": [1, \"x\"]}".utf8))) {
            assertReadable(ErrorText.describe($0), mentions: ["entries[1]", "expected"])
        }
        XCTAssertThrowsError(try JSONDecoder().decode(Ledger.self, from: Data("{}".utf8))) {
            assertReadable(ErrorText.describe($0), mentions: ["missing field entries"])
        }
    }
}

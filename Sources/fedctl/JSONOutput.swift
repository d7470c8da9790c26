// JSONOutput: how fedctl prints its --json results — one JSON document per command (one line per update for watch).
import Foundation
import SwiftProtobuf

enum JSONOutput {
    /// Prints a JSON object, keys sorted, indented.
    static func print(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        Swift.print(String(decoding: data, as: UTF8.self))
    }

    /// Prints a wire message as protobuf JSON on one line (field names in lowerCamelCase, as the proto3 JSON mapping has them).
    static func print(_ message: some SwiftProtobuf.Message) throws {
        Swift.print(try message.jsonString())
    }
}

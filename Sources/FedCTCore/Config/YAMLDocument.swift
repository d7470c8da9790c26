// YAMLDocument: typed, path-aware reading of YAML configuration, so every error names its file and field.
import Foundation
import Yams

/// A YAML mapping read field by field; errors name the file, the dotted field path and what was expected.
public struct YAMLDocument {
    public let source: String
    public let path: String
    private let mapping: Node.Mapping

    /// Parses `text`; `source` (usually the file path) names the document in errors.
    public init(text: String, source: String) throws {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw FedCTError(.invalidConfiguration, "\(source): not valid YAML: \(error)")
        }
        guard let mapping = node?.mapping else {
            throw FedCTError(.invalidConfiguration, "\(source): expected a YAML mapping of fields at the top level")
        }
        self.init(mapping: mapping, source: source, path: "")
    }

    private init(mapping: Node.Mapping, source: String, path: String) {
        self.mapping = mapping
        self.source = source
        self.path = path
    }

    /// The keys present in this mapping.
    public var keys: [String] { mapping.keys.compactMap(\.string) }

    /// Fails naming the first key not in `known`, so a typo is not silently ignored.
    public func rejectUnknownKeys(_ known: Set<String>) throws {
        if let unknown = keys.first(where: { !known.contains($0) }) {
            throw error(unknown, "is not a known field (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    public func string(_ key: String) throws -> String? {
        guard let node = mapping[key] else { return nil }
        guard let scalar = node.scalar else { throw error(key, "must be a string") }
        return scalar.string
    }

    public func int(_ key: String) throws -> Int? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.int else { throw error(key, "must be an integer (got \(describe(node)))") }
        return value
    }

    public func double(_ key: String) throws -> Double? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.float ?? node.int.map(Double.init) else { throw error(key, "must be a number (got \(describe(node)))") }
        return value
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.bool else { throw error(key, "must be true or false (got \(describe(node)))") }
        return value
    }

    public func strings(_ key: String) throws -> [String]? {
        guard let node = mapping[key] else { return nil }
        guard let items = node.sequence else { throw error(key, "must be a list of strings") }
        return try items.map { item in
            guard let text = item.scalar?.string else { throw error(key, "must be a list of strings") }
            return text
        }
    }

    public func doubles(_ key: String) throws -> [Double]? {
        guard let node = mapping[key] else { return nil }
        guard let items = node.sequence else { throw error(key, "must be a list of numbers") }
        return try items.map { item in
            guard let value = item.float ?? item.int.map(Double.init) else { throw error(key, "must be a list of numbers (got \(describe(item)))") }
            return value
        }
    }

    /// The nested mapping at `key`, if present.
    public func section(_ key: String) throws -> YAMLDocument? {
        guard let node = mapping[key] else { return nil }
        guard let nested = node.mapping else { throw error(key, "must be a mapping of fields") }
        return YAMLDocument(mapping: nested, source: source, path: dotted(key))
    }

    /// An error about field `key` of this mapping.
    public func error(_ key: String, _ problem: String) -> FedCTError {
        FedCTError(.invalidConfiguration, "\(source): field '\(dotted(key))' \(problem)")
    }

    private func dotted(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func describe(_ node: Node) -> String {
        node.scalar.map { "'\($0.string)'" } ?? "a \(node.sequence != nil ? "list" : "mapping")"
    }
}

// TaskOntology: a site's code → parent links, so that an occurrence of a code also counts for every ancestor.

/// The ancestors of medical codes, from `code,parent` pairs (a site's optional `ontology.csv`).
///
/// A code may have several parents; ancestors are the transitive closure. A cycle is an error that
/// names the codes on it, since "counts for every ancestor" would then count a code for itself.
public struct TaskOntology: Sendable, Equatable {
    /// Every code with at least one parent, mapped to all of its ancestors (never itself).
    public let ancestors: [String: Set<String>]

    /// No ontology: every code counts only for itself.
    public static let none = TaskOntology(closure: [:])

    private init(closure: [String: Set<String>]) { ancestors = closure }

    /// Builds the closure of `links` (child, parent); `source` names the file in errors.
    public init(links: [(code: String, parent: String)], source: String) throws {
        var parents: [String: Set<String>] = [:]
        for link in links where link.code != link.parent { parents[link.code, default: []].insert(link.parent) }
        var closure: [String: Set<String>] = [:]
        // Depth-first with an explicit path, so a cycle is reported instead of recursing forever.
        func resolve(_ code: String, path: [String]) throws -> Set<String> {
            if let done = closure[code] { return done }
            guard !path.contains(code) else {
                throw FedCTError(.invalidData, "\(source): the parent links form a cycle (\((path.drop { $0 != code } + [code]).joined(separator: " → "))); remove one of these rows")
            }
            var result: Set<String> = []
            for parent in parents[code] ?? [] {
                result.insert(parent)
                result.formUnion(try resolve(parent, path: path + [code]))
            }
            closure[code] = result
            return result
        }
        for code in parents.keys.sorted() { _ = try resolve(code, path: []) }
        self.init(closure: closure.filter { !$0.value.isEmpty })
    }

    /// `code` and all of its ancestors.
    public func expand(_ code: String) -> Set<String> {
        var codes = ancestors[code] ?? []
        codes.insert(code)
        return codes
    }
}

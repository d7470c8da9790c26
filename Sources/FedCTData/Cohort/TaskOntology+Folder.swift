// TaskOntology+Folder: reads a site's optional ontology.csv (code,parent rows), so events also count for ancestor codes.
public import FedCTCore
import Foundation

extension TaskOntology {
    /// The file name of a site's ontology, beside its cohort manifest.
    public static let fileName = "ontology.csv"

    /// The ontology in `directory/ontology.csv`, or `.none` when the folder has none. Rows need a `code` and a
    /// `parent`; an empty field or a cycle is an error naming the file (and line).
    public static func load(directory: String) throws -> TaskOntology {
        let path = "\(directory)/\(fileName)"
        guard FileManager.default.fileExists(atPath: path) else { return .none }
        let table = try CSVTable(path: path)
        let code = try table.column("code"), parent = try table.column("parent")
        let links = try table.rows.map { row -> (code: String, parent: String) in
            let link = (code: row.fields[code].trimmingCharacters(in: .whitespaces), parent: row.fields[parent].trimmingCharacters(in: .whitespaces))
            guard !link.code.isEmpty, !link.parent.isEmpty else {
                throw FedCTError(.invalidData, "\(path):\(row.line): empty code or parent; every row links a code to one parent")
            }
            return link
        }
        return try TaskOntology(links: links, source: path)
    }
}

// DataPreflight+Ontology: checks the site's optional ontology.csv, which training labels and the setup stage read.
import FedCTCore

extension DataPreflight {
    /// A malformed `ontology.csv` (missing column, empty field, cycle) blocks: loading the site's data would fail on it.
    func checkOntology(into report: inout PreflightReport) {
        do {
            _ = try TaskOntology.load(directory: directory)
        } catch {
            let path = "\(directory)/\(TaskOntology.fileName)"
            report.problems.append(PreflightProblem(.blocking, file: path, Self.message(error, dropping: path)))
        }
    }
}

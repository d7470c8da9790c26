// YAMLDocument+File: reads a YAML configuration file (coordinator.yaml, site.yaml, job.yaml) into a YAMLDocument.
public import FedCTCore
import Foundation

extension YAMLDocument {
    /// Reads and parses the YAML file at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FedCTError(.io, "\(path): cannot read the file (does it exist and is it readable?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FedCTError(.invalidConfiguration, "\(path): not UTF-8 text")
        }
        try self.init(text: text, source: path)
    }
}

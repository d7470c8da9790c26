// TextFile: reads a UTF-8 text file so that every failure, a non-UTF-8 file included, is an error naming the file.
import FedCTCore
import Foundation

/// UTF-8 text files read with errors that `ErrorText` can describe by path.
public enum TextFile {
    /// The contents of `url` as UTF-8 text. Foundation's own `String(contentsOf:encoding:)` reports a file that is not
    /// UTF-8 without its path; this throws `CocoaError(.fileReadInapplicableStringEncoding)` carrying the path, and
    /// Foundation's read errors (missing, a folder, unreadable) as they are, which already carry it.
    public static func read(_ url: URL) throws -> String {
        let data = try Data(contentsOf: url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw CocoaError(.fileReadInapplicableStringEncoding, userInfo: [NSFilePathErrorKey: url.path, NSURLErrorKey: url])
        }
        return text
    }

    /// The contents of the file at `path` as UTF-8 text; see ``read(_:)-(URL)``.
    public static func read(path: String) throws -> String {
        try read(URL(fileURLWithPath: path))
    }
}

// ErrorText: one readable line for any error a user sees — Foundation file errors name the path and what to do, never an NSError dump.
import Foundation

/// Turns errors into the one-line messages the executables print and log.
public enum ErrorText {
    /// A readable description of `error`: FedCTError as written, Foundation file and POSIX errors as
    /// "PATH: what went wrong; what to do", decoding errors with their field path, anything else as described.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? FedCTError { return error.description }
        if let error = error as? DecodingError { return describeDecoding(error) }
        let bridged = error as NSError
        if bridged.domain == NSCocoaErrorDomain {
            return describe(cocoa: CocoaError.Code(rawValue: bridged.code), path: filePath(of: bridged), underlying: bridged.userInfo[NSUnderlyingErrorKey] as? NSError)
        }
        if bridged.domain == NSPOSIXErrorDomain {
            let path = filePath(of: bridged)
            let reason = posixReason(Int32(bridged.code))
            return path.map { "\($0): \(reason)" } ?? reason
        }
        return String(describing: error)
    }

    private static func filePath(of error: NSError) -> String? {
        (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
    }

    private static func describe(cocoa code: CocoaError.Code, path: String?, underlying: (any Error)?) -> String {
        let file = path ?? "a file"
        switch code {
        case .fileReadNoPermission:
            return "\(file): permission denied; make it readable by this user"
        case .fileWriteNoPermission:
            return "\(file): permission denied; make its folder writable by this user or choose another path"
        case .fileReadCorruptFile, .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding:
            return "\(file): not UTF-8 text; is this the right file?"
        case .fileReadTooLarge:
            return "\(file): too large to read into memory"
        case .fileWriteOutOfSpace:
            return "\(file): no space left on the device; free some space and retry"
        case .fileWriteVolumeReadOnly:
            return "\(file): the file system is read-only; choose a writable path"
        case .fileWriteFileExists:
            return "\(file): already exists; remove it or choose another path"
        case .fileWriteInvalidFileName:
            return "\(file): not a valid file name"
        default:
            if let posix = (underlying as? NSError).flatMap({ $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }) {
                return "\(file): \(posixReason(posix))"
            }
            if let path, let problem = pathProblem(path) { return "\(path): \(problem)" }
            return "\(file): cannot read or write it (file error \(code.rawValue))"
        }
    }

    /// What is wrong with `path` as the file system stands: a part of it that is a file, a missing folder, a folder
    /// where a file is expected, or no such file. Nil when none of these (the cause lies elsewhere).
    static func pathProblem(_ path: String) -> String? {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isFolder) {
            return isFolder.boolValue ? "is a folder, not a file; give the file's path" : nil
        }
        var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
        while ancestor.path != "/" {
            if manager.fileExists(atPath: ancestor.path, isDirectory: &isFolder) {
                return isFolder.boolValue ? "no such file; check the path"
                    : "\(ancestor.path) is a file, not a folder; choose another path"
            }
            ancestor = ancestor.deletingLastPathComponent()
        }
        return "no such file or folder; check the path"
    }

    /// strerror's text with what to do for the errors users meet.
    private static func posixReason(_ code: Int32) -> String {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT: return "\(reason.lowercased()); free some space and retry"
        case EACCES, EPERM: return "\(reason.lowercased()); check the permissions"
        case ENOENT: return "\(reason.lowercased()); check the path"
        case EISDIR: return "\(reason.lowercased()); give a file, not a folder"
        case EROFS: return "\(reason.lowercased()); choose a writable path"
        default: return reason.lowercased()
        }
    }

    private static func describeDecoding(_ error: DecodingError) -> String {
        func field(_ context: DecodingError.Context) -> String {
            // entries[1].name, not entries.[1].name: an index attaches to the field before it.
            let path = context.codingPath.reduce(into: "") { path, key in
                if let index = key.intValue {
                    path += "[\(index)]"
                } else {
                    path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return path.isEmpty ? "the document" : "field \(path)"
        }
        switch error {
        case .dataCorrupted(let context): return "\(field(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "\(field(context)): missing field \(key.stringValue)"
        case .typeMismatch(let type, let context): return "\(field(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(field(context)): expected a \(type), found null"
        @unknown default: return String(describing: error)
        }
    }
}

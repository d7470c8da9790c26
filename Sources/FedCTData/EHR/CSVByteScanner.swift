// CSVByteScanner: a streaming RFC 4180 CSV parser over bytes (a file read in large chunks, or bytes in memory), one record at a time.
import FedCTCore
import Foundation

/// Reads CSV records straight from bytes, without a `String` per field, holding only one chunk of the file and
/// the current record.
///
/// Fields are RFC 4180: a field starting with `"` is quoted and may hold commas, newlines and `""` (a quote).
/// Line ends are LF or CRLF (a CR outside quotes is dropped); a UTF-8 byte order mark is skipped; the last record
/// needs no line end; blank lines are skipped. `recordLine` is the 1-based line where the current record starts.
///
/// ```swift
/// var scanner = try CSVByteScanner(path: "events.csv")
/// while try scanner.nextRecord() {
///     let code = scanner.string(2)   // or scanner.withField(2) { bytes in … } without a String
/// }
/// ```
public struct CSVByteScanner {
    /// The file, for errors.
    public let path: String
    /// The 1-based line where the current record starts.
    public private(set) var recordLine = 0

    private let file: ChunkedFile?
    private var chunk: [UInt8]
    private var position = 0
    private var state = State.fieldStart
    private var line = 1
    /// The current record's fields, unquoted, back to back; field i ends at `fieldEnds[i]`.
    private var fieldBytes: [UInt8] = []
    private var fieldEnds: [Int] = []

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    /// Opens `path` for reading in chunks of `chunkSize` bytes (at least 3, so a byte order mark is seen whole).
    public init(path: String, chunkSize: Int = 4 << 20) throws {
        self.path = path
        file = try ChunkedFile(path: path, chunkSize: max(chunkSize, 3))
        chunk = []
        guard try refill() else { return }
        skipByteOrderMark()
    }

    /// Parses `bytes` held in memory; `path` names them in errors.
    public init(bytes: [UInt8], path: String) {
        self.path = path
        file = nil
        chunk = bytes
        skipByteOrderMark()
    }

    /// The number of fields in the current record.
    public var fieldCount: Int { fieldEnds.count }

    /// Calls `body` with the bytes of field `index` of the current record (valid only inside `body`).
    public func withField<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        let start = index == 0 ? 0 : fieldEnds[index - 1]
        return try fieldBytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<fieldEnds[index]])) }
    }

    /// Field `index` of the current record as a `String`.
    public func string(_ index: Int) -> String {
        withField(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Every field of the current record as `String`s.
    public var strings: [String] { (0..<fieldCount).map(string) }

    /// A 64-bit hash of the current record's fields (their bytes and boundaries), mixed with `seed`.
    public func recordHash(seed: UInt64 = 0) -> UInt64 {
        var hash = ByteHash(seed: seed)
        for index in 0..<fieldCount { withField(index) { hash.combine($0) } }
        hash.combine(length: fieldCount)
        return hash.value
    }

    /// Moves to the next record; false at the end of the input. Throws `FedCTError` (`.invalidData`) naming the file
    /// and line for a quoted field that is never closed, and (`.io`) for a read error.
    public mutating func nextRecord() throws -> Bool {
        while true {
            fieldBytes.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            recordLine = line
            var complete = false
            while !complete {
                if position == chunk.count, try !refill() {
                    guard try finishInput() else { return false }
                    break
                }
                complete = scanChunk()
            }
            if !(fieldEnds.count == 1 && fieldEnds[0] == 0) { return true }
        }
    }

    /// Scans the chunk from `position` until a record ends (true) or the chunk does (false).
    private mutating func scanChunk() -> Bool {
        var state = self.state, line = self.line, position = self.position
        var bytes = fieldBytes, ends = fieldEnds
        fieldBytes = []
        fieldEnds = []
        defer {
            self.state = state
            self.line = line
            self.position = position
            fieldBytes = bytes
            fieldEnds = ends
        }
        return chunk.withUnsafeBufferPointer { input in
            while position < input.count {
                let byte = input[position]
                position += 1
                switch state {
                case .quoted:
                    if byte == quote {
                        state = .quoteInQuoted
                    } else {
                        if byte == newline { line += 1 }
                        bytes.append(byte)
                    }
                case .fieldStart where byte == quote:
                    state = .quoted
                case .quoteInQuoted where byte == quote:
                    bytes.append(quote)
                    state = .quoted
                default:
                    switch byte {
                    case comma:
                        ends.append(bytes.count)
                        state = .fieldStart
                    case newline:
                        ends.append(bytes.count)
                        state = .fieldStart
                        line += 1
                        return true
                    case carriageReturn:
                        continue
                    default:
                        bytes.append(byte)
                        state = .unquoted
                    }
                }
            }
            return false
        }
    }

    /// Ends the last record at the end of the input: true when there is one without a final line end.
    private mutating func finishInput() throws -> Bool {
        if state == .quoted { throw FedCTError(.invalidData, "\(path):\(recordLine): a quoted field is never closed") }
        guard !fieldBytes.isEmpty || !fieldEnds.isEmpty || state != .fieldStart else { return false }
        fieldEnds.append(fieldBytes.count)
        state = .fieldStart
        return true
    }

    /// Reads the next chunk of the file; false at its end (or for bytes in memory).
    private mutating func refill() throws -> Bool {
        guard let file else { return false }
        position = 0
        return try file.read(into: &chunk)
    }

    private mutating func skipByteOrderMark() {
        if chunk.count >= 3, chunk[0] == 0xEF, chunk[1] == 0xBB, chunk[2] == 0xBF { position = 3 }
    }
}

private let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

/// An open file read sequentially in fixed-size chunks; owns the file descriptor.
final class ChunkedFile {
    private let descriptor: Int32
    private let path: String
    private let chunkSize: Int

    init(path: String, chunkSize: Int) throws {
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw FedCTError(.io, "\(path): cannot read the file (does it exist and is it readable?)")
        }
        self.path = path
        self.chunkSize = chunkSize
    }

    deinit { close(descriptor) }

    /// Replaces `chunk` with the next bytes of the file; false at its end.
    func read(into chunk: inout [UInt8]) throws -> Bool {
        var filled = 0
        var failure: Int32 = 0
        chunk = [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, count in
            while filled < chunkSize {
                let result = Glibc.read(descriptor, buffer.baseAddress! + filled, chunkSize - filled)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if result == 0 { break }
                filled += result
            }
            count = filled
        }
        if failure != 0 { throw FedCTError(.io, "\(path): read failed (\(String(cString: strerror(failure))))") }
        return filled > 0
    }
}

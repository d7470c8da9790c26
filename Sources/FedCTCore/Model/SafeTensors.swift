// SafeTensors: reads and writes model states in the safetensors format, FedCT's model blob and export format.
import Foundation

/// The safetensors file format (8-byte little-endian header length, JSON header, raw tensor bytes).
///
/// FedCT stores every global model as a safetensors blob addressed by its SHA-256, so the same bytes
/// load directly into PyTorch (`safetensors.torch.load_file`). Writing is deterministic: tensors in
/// layout order, header keys in layout order, so equal states give equal hashes.
public enum SafeTensors {
    /// Encodes `state` as safetensors bytes (dtype F32).
    public static func encode(_ state: ModelState) -> [UInt8] {
        let header = encodedHeader(layout: state.layout, metadata: state.metadata)
        var out = [UInt8]()
        out.reserveCapacity(header.count + state.values.count * 4)
        out.append(contentsOf: header)
        state.values.withUnsafeBufferPointer { appendLittleEndian($0, to: &out) }
        return out
    }

    /// The bytes before the tensor data of a file holding `layout`'s F32 tensors end to end: the 8-byte header length
    /// and the JSON header (metadata keys sorted, tensors in layout order), padded with spaces to a multiple of 8.
    public static func encodedHeader(layout: [TensorLayout], metadata: [String: String]) -> [UInt8] {
        var header = "{"
        if !metadata.isEmpty {
            let entries = metadata.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0]!))" }
            header += "\"__metadata__\":{\(entries.joined(separator: ","))},"
        }
        var offset = 0
        let tensorEntries = layout.map { tensor -> String in
            let begin = offset
            offset += tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            return "\(JSONText.quoted(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(offset)]}"
        }
        header += tensorEntries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        return out + headerBytes
    }

    /// Appends `values` as little-endian float32 bytes.
    public static func appendLittleEndian(_ values: UnsafeBufferPointer<Float>, to out: inout [UInt8]) {
        if Int(littleEndian: 1) == 1 {
            out.append(contentsOf: UnsafeRawBufferPointer(values))
        } else {
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
    }

    /// Decodes safetensors bytes holding F32 tensors; `source` names the blob in errors.
    public static func decode(_ bytes: [UInt8], source: String = "model blob") throws -> ModelState {
        guard bytes.count >= 8 else {
            throw FedCTError(.invalidData, "\(source): \(bytes.count) bytes is too short for a safetensors file")
        }
        let dataStart = try dataOffset(lengthBytes: bytes[0..<8], fileSize: bytes.count, source: source)
        let header = try SafeTensorsHeader(json: bytes[8..<dataStart], dataOffset: dataStart, fileSize: bytes.count, source: source)
        let values = [Float](unsafeUninitializedCapacity: header.valueCount) { buffer, count in
            bytes.withUnsafeBytes { raw in
                for index in 0..<header.valueCount {
                    buffer[index] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: dataStart + index * 4, as: UInt32.self).littleEndian)
                }
            }
            count = header.valueCount
        }
        return try ModelState(layout: header.layout, values: values, metadata: header.metadata)
    }

    /// Where the tensor data starts (8 + the header length the first 8 bytes state), checked against the file size.
    public static func dataOffset(lengthBytes: some Collection<UInt8>, fileSize: Int, source: String) throws -> Int {
        guard fileSize >= 8, lengthBytes.count == 8 else {
            throw FedCTError(.invalidData, "\(source): \(fileSize) bytes is too short for a safetensors file")
        }
        let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(fileSize - 8) else {
            throw FedCTError(.invalidData, "\(source): header length \(headerLength) runs past the end of the file")
        }
        return 8 + Int(headerLength)
    }
}

/// The JSON header of a safetensors file of F32 tensors: where each tensor lies, checked to fill the data section
/// end to end without gaps, overlaps or trailing bytes.
public struct SafeTensorsHeader: Sendable, Equatable {
    /// The tensors in the order of their data.
    public let layout: [TensorLayout]
    public let metadata: [String: String]
    /// The byte offset of the first tensor's data in the file.
    public let dataOffset: Int
    /// The number of float32 values in the data section.
    public let valueCount: Int

    /// Parses the header `json` of a file of `fileSize` bytes whose data starts at `dataOffset`.
    public init(json: some Collection<UInt8>, dataOffset: Int, fileSize: Int, source: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw FedCTError(.invalidData, "\(source): the safetensors header is not valid JSON")
        }
        guard let object = object as? [String: Any] else {
            throw FedCTError(.invalidData, "\(source): the safetensors header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [(begin: Int, end: Int, tensor: TensorLayout)] = []
        for (name, value) in object {
            if name == "__metadata__" {
                for (key, item) in value as? [String: Any] ?? [:] { metadata[key] = item as? String }
                continue
            }
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else { throw FedCTError(.invalidData, "\(source): tensor \"\(name)\" has a malformed header entry") }
            guard dtype == "F32" else {
                throw FedCTError(.invalidData, "\(source): tensor \"\(name)\" has dtype \(dtype); FedCT models are F32")
            }
            let tensor = TensorLayout(name: name, shape: shape)
            guard offsets[0] >= 0, offsets[1] - offsets[0] == tensor.count * 4, dataOffset + offsets[1] <= fileSize else {
                throw FedCTError(.invalidData, "\(source): tensor \"\(name)\" has data offsets \(offsets) that do not fit its shape \(shape) or the file")
            }
            entries.append((offsets[0], offsets[1], tensor))
        }
        entries.sort { $0.begin < $1.begin }
        var expectedBegin = 0
        for entry in entries {
            guard entry.begin == expectedBegin else {
                throw FedCTError(.invalidData, "\(source): tensor \"\(entry.tensor.name)\" leaves a gap or overlaps in the data section")
            }
            expectedBegin = entry.end
        }
        guard dataOffset + expectedBegin == fileSize else {
            throw FedCTError(.invalidData, "\(source): \(fileSize - dataOffset - expectedBegin) trailing bytes after the last tensor")
        }
        layout = entries.map(\.tensor)
        self.metadata = metadata
        self.dataOffset = dataOffset
        valueCount = expectedBegin / 4
    }
}

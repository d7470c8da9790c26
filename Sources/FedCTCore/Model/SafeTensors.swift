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
        var header = "{"
        if !state.metadata.isEmpty {
            let entries = state.metadata.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(state.metadata[$0]!))" }
            header += "\"__metadata__\":{\(entries.joined(separator: ","))},"
        }
        var offset = 0
        let tensorEntries = state.layout.map { tensor -> String in
            let begin = offset
            offset += tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            return "\(JSONText.quoted(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(offset)]}"
        }
        header += tensorEntries.joined(separator: ",") + "}"
        // The format pads the header with spaces to a multiple of 8 bytes.
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + state.values.count * 4)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        state.values.withUnsafeBytes { raw in
            if Int(littleEndian: 1) == 1 {
                out.append(contentsOf: raw)
            } else {
                for value in state.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }

    /// Decodes safetensors bytes holding F32 tensors; `source` names the blob in errors.
    public static func decode(_ bytes: [UInt8], source: String = "model blob") throws -> ModelState {
        guard bytes.count >= 8 else {
            throw FedCTError(.invalidData, "\(source): \(bytes.count) bytes is too short for a safetensors file")
        }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw FedCTError(.invalidData, "\(source): header length \(headerLength) runs past the end of the file")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        } catch {
            throw FedCTError(.invalidData, "\(source): the safetensors header is not valid JSON")
        }
        guard let object = json as? [String: Any] else {
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
            guard offsets[0] >= 0, offsets[1] - offsets[0] == tensor.count * 4, dataStart + offsets[1] <= bytes.count else {
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
        guard dataStart + expectedBegin == bytes.count else {
            throw FedCTError(.invalidData, "\(source): \(bytes.count - dataStart - expectedBegin) trailing bytes after the last tensor")
        }
        let values = [Float](unsafeUninitializedCapacity: expectedBegin / 4) { buffer, count in
            bytes.withUnsafeBytes { raw in
                for index in 0..<(expectedBegin / 4) {
                    buffer[index] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: dataStart + index * 4, as: UInt32.self).littleEndian)
                }
            }
            count = expectedBegin / 4
        }
        return try ModelState(layout: entries.map(\.tensor), values: values, metadata: metadata)
    }
}

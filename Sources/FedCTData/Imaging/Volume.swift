// Volume: a 3D scalar image (CT in Hounsfield units) with its voxel spacing, read from and written to NIfTI.
import CNIfTI
import FedCTCore

/// A 3D image, x fastest, with spacing in millimetres.
public struct Volume: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var depth: Int
    public var spacing: (x: Double, y: Double, z: Double)
    public var voxels: [Float]

    public init(width: Int, height: Int, depth: Int, spacing: (x: Double, y: Double, z: Double), voxels: [Float]) {
        precondition(voxels.count == width * height * depth, "voxel count must match the dimensions")
        self.width = width
        self.height = height
        self.depth = depth
        self.spacing = spacing
        self.voxels = voxels
    }

    public static func == (lhs: Volume, rhs: Volume) -> Bool {
        lhs.width == rhs.width && lhs.height == rhs.height && lhs.depth == rhs.depth
            && lhs.spacing == rhs.spacing && lhs.voxels == rhs.voxels
    }

    /// Reads one 3D volume from a NIfTI-1/NIfTI-2 file through niftilib; 4D files need `volumeIndex`.
    public static func readNIfTI(path: String, volumeIndex: Int? = nil) throws -> Volume {
        try readNIfTIWithAffine(path: path, volumeIndex: volumeIndex).volume
    }

    /// Reads a NIfTI volume and its voxel-to-RAS+ affine (row-major 4×4), the one nibabel uses: sform if sform_code
    /// is set, else qform if qform_code is set, else nibabel's base affine (x flipped, the volume's centre at 0).
    static func readNIfTIWithAffine(path: String, volumeIndex: Int? = nil) throws -> (volume: Volume, affine: [Double]) {
        var raw = fct_nifti_volume()
        var message = [CChar](repeating: 0, count: 512)
        let status = fct_nifti_read(path, Int64(volumeIndex ?? 0), &raw, &message, message.count)
        guard status == 0 else {
            throw FedCTError(.invalidData, String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { fct_nifti_volume_free(&raw) }
        if raw.nt > 1 && volumeIndex == nil {
            throw FedCTError(.invalidData, "\(path): is 4D with \(raw.nt) volumes; say which one to use by ending the image path with #<index> (#0 for the first)")
        }
        let count = Int(raw.nx * raw.ny * raw.nz)
        let voxels = Array(UnsafeBufferPointer(start: raw.voxels, count: count))
        let affine = withUnsafeBytes(of: raw.affine) { Array($0.bindMemory(to: Double.self)) }
        let volume = Volume(width: Int(raw.nx), height: Int(raw.ny), depth: Int(raw.nz),
                            spacing: (raw.spacing.0, raw.spacing.1, raw.spacing.2), voxels: voxels)
        return (volume, affine)
    }

    /// Writes the volume as an int16 NIfTI-1 file (values rounded and clamped to int16); `.nii.gz` compresses.
    public func writeNIfTI(path: String) throws {
        let quantised = voxels.map { Int16(clamping: Int(($0).rounded())) }
        var message = [CChar](repeating: 0, count: 512)
        let spacingValues = [spacing.x, spacing.y, spacing.z]
        let status = fct_nifti_write_int16(path, quantised, Int64(width), Int64(height), Int64(depth), spacingValues, &message, message.count)
        guard status == 0 else {
            throw FedCTError(.io, String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }
}

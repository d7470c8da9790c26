// TorchDevice: the compute device a site names (`device: cpu` or `cuda[:N]`) and the check that the linked libtorch has it.
internal import CTorchBridge

/// Where libtorch should compute: the CPU, or one CUDA device.
public enum TorchDevice: Sendable, Equatable, CustomStringConvertible {
    case cpu
    /// The CUDA device with this index (`cuda` is `cuda:0`).
    case cuda(index: Int)

    /// Parses `cpu`, `cuda` or `cuda:N` (N ≥ 0); nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "cpu": self = .cpu
        case "cuda": self = .cuda(index: 0)
        default:
            guard text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 else { return nil }
            self = .cuda(index: index)
        }
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let index): "cuda:\(index)"
        }
    }

    /// Whether the linked libtorch was built with CUDA (Debian's libtorch is CPU-only).
    public static var libtorchHasCUDA: Bool { fct_torch_has_cuda() != 0 }

    /// The CUDA devices libtorch sees (0 for a CPU-only libtorch).
    public static var cudaDeviceCount: Int { Int(fct_torch_cuda_device_count()) }

    /// Throws unless this process can train on `self`: the CPU always; a CUDA device only with a libtorch built with CUDA
    /// that sees that device, and a torch bridge that places models on it (this one computes on the CPU only).
    public func checkAvailable() throws {
        guard case .cuda(let index) = self else { return }
        guard Self.libtorchHasCUDA else {
            throw TorchError(.deviceUnavailable, "\(self) needs CUDA, but the linked libtorch \(Torch.version) is CPU-only "
                + "(Debian's libtorch has no CUDA); set device: cpu, or build FedCT against a CUDA libtorch "
                + "(Docs/deployment-guide.md, \"Sites with GPUs\")")
        }
        let count = Self.cudaDeviceCount
        guard index < count else {
            throw TorchError(.deviceUnavailable, "\(self) needs CUDA device \(index), but libtorch sees \(count) CUDA device(s)"
                + (count == 0 ? " (is the NVIDIA driver loaded and the device visible to this process?)" : "; use cuda:0…cuda:\(count - 1)"))
        }
        throw TorchError(.deviceUnavailable, "\(self) is present, but this build's torch bridge trains on the CPU only "
            + "(placing models on CUDA is not implemented yet); set device: cpu")
    }
}

extension TorchError.Code {
    /// The configured compute device is not available to this process.
    public static let deviceUnavailable = Self("device-unavailable")
}

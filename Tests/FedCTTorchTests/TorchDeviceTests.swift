// Tests of the device setting: parsing `cpu` / `cuda[:N]`, and the start-up check against the linked libtorch.
import FedCTTorch
import XCTest

final class TorchDeviceTests: XCTestCase {
    func testDeviceNamesParse() {
        XCTAssertEqual(TorchDevice("cpu"), .cpu)
        XCTAssertEqual(TorchDevice("cuda"), .cuda(index: 0))
        XCTAssertEqual(TorchDevice("cuda:3"), .cuda(index: 3))
        for bad in ["", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cpu:0"] {
            XCTAssertNil(TorchDevice(bad), bad)
        }
        XCTAssertEqual(TorchDevice.cuda(index: 2).description, "cuda:2")
    }

    func testTheCPUIsAlwaysAvailableAndCUDANeverSilentlyFallsBack() throws {
        XCTAssertNoThrow(try TorchDevice.cpu.checkAvailable())
        XCTAssertThrowsError(try TorchDevice.cuda(index: 0).checkAvailable()) { error in
            let error = error as? TorchError
            XCTAssertEqual(error?.code, .deviceUnavailable)
            if !TorchDevice.libtorchHasCUDA {
                // Debian's libtorch (the one the project builds against): CPU-only, no devices, and the message says what to do.
                XCTAssertEqual(TorchDevice.cudaDeviceCount, 0)
                XCTAssertEqual(error?.message.hasPrefix("cuda:0 needs CUDA, but the linked libtorch \(Torch.version) is CPU-only"), true,
                               error?.message ?? "")
                XCTAssertEqual(error?.message.contains("set device: cpu, or build FedCT against a CUDA libtorch"), true)
            }
        }
    }
}

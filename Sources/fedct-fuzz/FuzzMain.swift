// fedct-fuzz: libFuzzer entry for the decoders of outside bytes (Scripts/fuzz.sh), or a replay of saved inputs.
import Foundation

#if FUZZING
/// libFuzzer's driver (libclang_rt.fuzzer_no_main, linked by Scripts/fuzz.sh): runs `callback` on generated inputs.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

/// `fedct-fuzz TARGET [libFuzzer options and corpus folders]` when built by Scripts/fuzz.sh; in an ordinary build,
/// `fedct-fuzz TARGET FILE…` runs each file through the target once and prints what it threw.
@main
struct FuzzMain {
    // Set once before the fuzzing loop starts and read only from libFuzzer's single thread.
    nonisolated(unsafe) static var target: FuzzTarget!
    nonisolated(unsafe) static var scratch: FuzzScratch!

    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, let chosen = FuzzTarget.named(arguments[1]) else {
            let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: fedct-fuzz TARGET [FILE…]; targets: \(names)\n".utf8))
            exit(2)
        }
        target = chosen
        scratch = try FuzzScratch()
        #if FUZZING
        // libFuzzer sees the program name and the options after the target's name.
        var argc = CommandLine.argc - 1
        let argv = CommandLine.unsafeArgv
        argv[1] = argv[0]
        var shifted = argv + 1
        // libFuzzer ends the process itself (at -max_total_time, or -runs): the scratch folder goes at exit.
        atexit { FuzzMain.scratch.remove() }
        exit(LLVMFuzzerRunDriver(&argc, &shifted) { data, size in
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            _ = try? FuzzMain.target.run(FuzzMain.scratch, bytes)
            return 0
        })
        #else
        for file in arguments.dropFirst(2) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            // Written unbuffered: a later input may crash the process, and what was answered so far must be out.
            do {
                try chosen.run(scratch, bytes)
                FileHandle.standardOutput.write(Data("\(file): accepted\n".utf8))
            } catch {
                FileHandle.standardOutput.write(Data("\(file): refused: \(error)\n".utf8))
            }

        }
        scratch.remove()
        #endif
    }
}

// AsyncParsableCommand+QuickExit: runs a FedCT executable and ends the process without running C++ static destructors.
public import ArgumentParser
import Foundation

extension AsyncParsableCommand {
    /// Parses the arguments, runs the command, prints any error as ArgumentParser would, and ends the
    /// process with `_exit`.
    ///
    /// libgrpc++ keeps background threads (timers, resolvers, pollers) alive until its global state is
    /// torn down. A plain `exit` runs C++ static destructors while those threads may still hold references,
    /// which crashes now and then at the very end of a successful run (seen as "ref_counted.h: assertion
    /// failed: prior > 0"). Every file the executables write is closed and fsynced before they return, so
    /// leaving through `_exit` after flushing stdio loses nothing.
    public static func mainExitingQuickly() async {
        let code: Int32
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = 0
        } catch {
            code = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if !message.isEmpty {
                FileHandle(fileDescriptor: code == 0 ? STDOUT_FILENO : STDERR_FILENO).write(Data((message + "\n").utf8))
            }
        }
        fflush(nil)
        _exit(code)
    }
}

// AsyncParsableCommand+QuickExit: runs a FedCT executable and ends the process without running C++ static destructors.
public import ArgumentParser
import FedCTCore
import FedCTRPC
import Foundation

extension AsyncParsableCommand {
    /// Parses the arguments, runs the command, prints any error, and ends the process with `_exit`. Usage
    /// errors read as ArgumentParser writes them; every other error as ``ErrorText/describe(_:)`` writes it
    /// (never a Foundation or gRPC dump).
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
            let message = CommandLineErrors.isArgumentParserError(error) ? fullMessage(for: error) : "Error: \(CommandLineErrors.describe(error))"
            if !message.isEmpty {
                FileHandle(fileDescriptor: code == 0 ? STDOUT_FILENO : STDERR_FILENO).write(Data((message + "\n").utf8))
            }
        }
        fflush(nil)
        _exit(code)
    }
}

/// How the executables word an error: ArgumentParser's own (usage, help, validation, exit codes) as it writes
/// them; a gRPC status by its message (a connection failure already explained by the client: address, cause, what
/// to check); everything else through ``ErrorText``.
enum CommandLineErrors {
    static func describe(_ error: any Error) -> String {
        guard let status = error as? RPCError else { return ErrorText.describe(error) }
        if let problem = status.connectionProblem { return "cannot reach the server: \(problem.what); \(problem.hint)" }
        return status.message.isEmpty ? "the server answered \(status.code)" : status.message
    }

    static func isArgumentParserError(_ error: any Error) -> Bool {
        error is ValidationError || error is ExitCode || error is CleanExit || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

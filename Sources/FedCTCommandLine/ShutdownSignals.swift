// ShutdownSignals: turns SIGTERM and SIGINT into an awaitable event, for graceful shutdown of the daemons.
import Dispatch
import Foundation

/// Waits for SIGTERM or SIGINT.
public enum ShutdownSignals {
    /// Returns the name of the first termination signal received.
    public static func next() async -> String {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        var sources: [any DispatchSourceSignal] = []
        for (signalNumber, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        var iterator = stream.makeAsyncIterator()
        let name = await iterator.next() ?? "SIGTERM"
        sources.forEach { $0.cancel() }
        return name
    }
}

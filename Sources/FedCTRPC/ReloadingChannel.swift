// ReloadingChannel: a client channel whose TLS certificate and key are re-read from disk, so a renewed certificate is used without a restart.
import Synchronization

/// Hands out a ``GRPCChannel`` for each call, rebuilt with fresh credentials when the TLS files change.
///
/// At most once per `checkInterval`, ``channel()`` re-reads the PEM files through `loadTLS` and compares them with
/// the ones the current channel was built from. When they differ it builds a new channel from them; calls already
/// running finish on the old one (each holds its channel until it ends). Files that cannot be read, or from which
/// no channel can be built, leave the current channel in use until a later check succeeds. A rebuild, and each new
/// reason for refusing the files, is passed to `report`, which must not block.
public final class ReloadingChannel: Sendable {
    /// What a check of the TLS files found.
    public enum Reload: Sendable {
        /// The files changed and the channel was rebuilt; later calls present the new certificate.
        case rebuilt
        /// The files changed but could not be used; the previous channel stays in use.
        case refused(any Error)
    }

    private struct State {
        var channel: GRPCChannel
        var tls: TLSConfig
        var lastCheck: ContinuousClock.Instant
        /// The last refusal reported, so that files which stay broken are reported once.
        var refusal: String?
    }

    private let options: ChannelOptions
    private let loadTLS: @Sendable () throws -> TLSConfig
    private let checkInterval: Duration
    private let report: @Sendable (Reload) -> Void
    private let state: Mutex<State>

    /// Builds the first channel from `options` with the TLS material `loadTLS` returns (its errors are thrown).
    public init(options: ChannelOptions, checkInterval: Duration = .seconds(1), loadTLS: @escaping @Sendable () throws -> TLSConfig,
                report: @escaping @Sendable (Reload) -> Void) throws {
        let tls = try loadTLS()
        var first = options
        first.tls = tls
        self.options = options
        self.loadTLS = loadTLS
        self.checkInterval = checkInterval
        self.report = report
        state = Mutex(State(channel: try GRPCChannel(options: first), tls: tls, lastCheck: .now))
    }

    /// The target the channels connect to.
    public var target: String { options.target }

    /// The channel for the next call: the current one, or a new one if the TLS files changed since it was built.
    public func channel() -> GRPCChannel { current().channel }

    /// The channel for the next call (see ``channel()``) with the TLS material it presents, taken together so that
    /// something signed with `tls.privateKeyPEM` goes out on a connection presenting that key's certificate.
    public func current() -> (channel: GRPCChannel, tls: TLSConfig) {
        let (current, outcome) = state.withLock { state -> ((GRPCChannel, TLSConfig), Reload?) in
            let now = ContinuousClock.now
            guard now - state.lastCheck >= checkInterval else { return ((state.channel, state.tls), nil) }
            state.lastCheck = now
            do {
                let tls = try loadTLS()
                guard tls != state.tls else {
                    state.refusal = nil
                    return ((state.channel, state.tls), nil)
                }
                var next = options
                next.tls = tls
                state.channel = try GRPCChannel(options: next)
                state.tls = tls
                state.refusal = nil
                return ((state.channel, state.tls), .rebuilt)
            } catch {
                guard state.refusal != "\(error)" else { return ((state.channel, state.tls), nil) }
                state.refusal = "\(error)"
                return ((state.channel, state.tls), .refused(error))
            }
        }
        if let outcome { report(outcome) }
        return current
    }
}

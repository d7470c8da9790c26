// FaultProxy: a TCP proxy on loopback for network-fault tests — latency with jitter, a rate limit, stalls, cut connections, partitions.
import Foundation
import Glibc

/// Forwards every connection to 127.0.0.1:`targetPort`, bending the traffic as its faults say.
///
/// Each direction of each connection has a reader thread (socket → delay line) and a writer thread (delay line →
/// socket). A chunk is delivered `latency ± jitter` after it was read (in order), writes are paced to `bytesPerSecond`,
/// and nothing moves while the proxy is stalled or partitioned. The delay line holds at most 256 KiB, so a slow
/// writer slows the reader and TCP's own flow control reaches the sender, as on a real slow link. A partition keeps
/// connections open but silent (new ones are accepted and stay silent too), as a firewall dropping packets does;
/// `heal()` lets them flow again. `cut()` closes every open connection at once.
///
/// `@unchecked Sendable`: all mutable state is guarded by `condition`.
final class FaultProxy: @unchecked Sendable {
    /// The faults in force; change them with ``set(_:)`` at any time.
    struct Faults: Sendable, Equatable {
        var latency: Double = 0
        var jitter: Double = 0
        /// Bytes per second in each direction of each connection; nil: unlimited.
        var bytesPerSecond: Double?
        /// Nothing is forwarded (connections stay open).
        var stalled = false
    }

    let port: Int
    let targetPort: Int
    private let listener: Int32
    private let condition = NSCondition()
    private var faults = Faults()
    private var partitioned = false
    private var closed = false
    private var connections: [Int: (client: Int32, server: Int32)] = [:]
    private var nextConnection = 0
    private var forwarded: [Direction: Int] = [.up: 0, .down: 0]
    private var acceptedCount = 0

    /// Which way bytes go: up is client → target, down is target → client.
    enum Direction: Sendable { case up, down }

    init(targetPort: Int) throws {
        self.targetPort = targetPort
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 64) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ready else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HarnessError("fault proxy: cannot listen on 127.0.0.1 (\(reason))")
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    /// `host:port` a client dials to go through the proxy.
    var address: String { "localhost:\(port)" }

    func set(_ faults: Faults) {
        condition.withLock { self.faults = faults; condition.broadcast() }
    }

    /// Silences every connection, open and new, until ``heal()``.
    func partition() {
        condition.withLock { partitioned = true; condition.broadcast() }
    }

    func heal() {
        condition.withLock { partitioned = false; condition.broadcast() }
    }

    /// Closes every open connection in both directions, bytes in flight lost (as a firewall or NAT dropping its
    /// state); new connections are accepted.
    func cut() {
        let open = condition.withLock { Array(connections.values) }
        for pair in open {
            shutdown(pair.client, Int32(SHUT_RDWR))
            shutdown(pair.server, Int32(SHUT_RDWR))
        }
    }

    /// Connections accepted so far (a client that reconnects after a cut adds one).
    var accepted: Int { condition.withLock { acceptedCount } }

    /// Bytes forwarded so far in `direction`, over all connections.
    func bytes(_ direction: Direction) -> Int {
        condition.withLock { forwarded[direction] ?? 0 }
    }

    /// Stops accepting and closes every connection.
    func stop() {
        let wasClosed = condition.withLock { defer { closed = true; condition.broadcast() }; return closed }
        guard !wasClosed else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        cut()
    }

    deinit { stop() }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            if condition.withLock({ closed }) { close(client); return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var target = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &target) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard connected else {
                close(client)
                close(server)
                continue
            }
            var noDelay: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(server, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            let id = condition.withLock {
                acceptedCount += 1
                nextConnection += 1
                connections[nextConnection] = (client, server)
                return nextConnection
            }
            let pumps = Pumps(proxy: self, id: id, client: client, server: server)
            pumps.start()
        }
    }

    /// The two directions of one connection; the sockets close when both directions have ended.
    private final class Pumps: @unchecked Sendable {
        let proxy: FaultProxy
        let id: Int
        let client: Int32
        let server: Int32
        private let lock = NSLock()
        private var running = 4

        init(proxy: FaultProxy, id: Int, client: Int32, server: Int32) {
            self.proxy = proxy
            self.id = id
            self.client = client
            self.server = server
        }

        func start() {
            for (from, to, direction) in [(client, server, Direction.up), (server, client, Direction.down)] {
                let line = DelayLine()
                Thread { [self] in proxy.read(from: from, into: line); finished() }.start()
                Thread { [self] in proxy.write(line, to: to, peer: from, direction: direction); finished() }.start()
            }
        }

        private func finished() {
            let last = lock.withLock { running -= 1; return running == 0 }
            guard last else { return }
            proxy.condition.withLock { _ = proxy.connections.removeValue(forKey: id) }
            close(client)
            close(server)
        }
    }

    /// Chunks read but not yet written, with the time each may be delivered.
    private final class DelayLine: @unchecked Sendable {
        var chunks: [(data: [UInt8], due: Double)] = []
        var queuedBytes = 0
        var ended = false
        /// The writer stopped (its socket failed): the reader stops too.
        var writerGone = false
        var lastDue = 0.0
    }

    private static let lineCapacity = 256 << 10

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    private func read(from socket: Int32, into line: DelayLine) {
        var buffer = [UInt8](repeating: 0, count: 32 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            condition.lock()
            if count <= 0 {
                line.ended = true
                condition.broadcast()
                condition.unlock()
                return
            }
            while line.queuedBytes >= Self.lineCapacity && !closed && !line.writerGone { condition.wait() }
            if line.writerGone || closed {
                condition.unlock()
                return
            }
            let delay = max(0, faults.latency + Double.random(in: -faults.jitter...faults.jitter))
            // In order: a chunk is never due before the one read before it.
            line.lastDue = max(line.lastDue, Self.now() + delay)
            line.chunks.append((Array(buffer[0..<count]), line.lastDue))
            line.queuedBytes += count
            condition.broadcast()
            condition.unlock()
        }
    }

    private func write(_ line: DelayLine, to socket: Int32, peer: Int32, direction: Direction) {
        condition.lock()
        while !closed {
            if line.chunks.isEmpty {
                if line.ended { break }
                condition.wait()
                continue
            }
            if faults.stalled || partitioned {
                _ = condition.wait(until: Date().addingTimeInterval(0.05))
                continue
            }
            let due = line.chunks[0].due
            let now = Self.now()
            if due > now {
                _ = condition.wait(until: Date().addingTimeInterval(min(due - now, 0.05)))
                continue
            }
            // Pace to the rate in slices of at most 20 ms' worth.
            let slice = faults.bytesPerSecond.map { max(1, Int($0 / 50)) } ?? Int.max
            let data = line.chunks[0].data
            let piece = Array(data.prefix(slice))
            let rate = faults.bytesPerSecond
            condition.unlock()
            let sent = piece.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if let rate, sent > 0 { Thread.sleep(forTimeInterval: Double(sent) / rate) }
            condition.lock()
            if sent <= 0 {
                if sent < 0 && errno == EINTR { continue }
                break
            }
            forwarded[direction, default: 0] += sent
            line.queuedBytes -= sent
            if sent == data.count {
                line.chunks.removeFirst()
            } else {
                line.chunks[0].data = Array(data[sent...])
            }
            condition.broadcast()
        }
        line.writerGone = true
        condition.broadcast()
        condition.unlock()
        // This direction is over: tell the other side no more bytes come, and stop reading from the peer's side.
        shutdown(socket, Int32(SHUT_WR))
        shutdown(peer, Int32(SHUT_RD))
    }
}

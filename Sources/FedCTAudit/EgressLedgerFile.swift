// EgressLedgerFile: the ledger on disk — appends sealed, fsynced lines to egress.jsonl, keeps egress.head and the archive.
import Crypto
import FedCTCore
import FedCTStorage
import Foundation

/// The key that signs ledger entries and its certificate, as read from the site's start-up kit (re-read on renewal).
public struct LedgerIdentity: Sendable {
    /// The certificate (PEM) whose key signs.
    public var certificatePEM: String
    /// Signs bytes (ECDSA P-256, DER).
    public var sign: @Sendable ([UInt8]) throws -> [UInt8]

    public init(certificatePEM: String, sign: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
        self.certificatePEM = certificatePEM
        self.sign = sign
    }
}

/// The egress ledger in a folder (a site's `state_dir`): `egress.jsonl` (the chain), `egress.head` (a copy of its last
/// line, so a truncated chain is caught) and `egress-archive/` (what was sent, by content address).
///
/// Not thread-safe: the site's `EgressLedger` owns one. A durable ``append(_:durable:)`` (the default) is fsynced and copied
/// to `egress.head` before it returns; the site writes outcomes and receipts — records of what already happened — without
/// fsync, so a call costs one fsync, as the unsigned ledger did.
public final class EgressLedgerFile {
    /// File names inside the ledger folder.
    public static let ledgerName = "egress.jsonl"
    public static let headName = "egress.head"
    public static let archiveName = "egress-archive"

    public let folder: URL
    public var url: URL { folder.appending(path: Self.ledgerName) }
    private let identity: () throws -> LedgerIdentity
    private let descriptor: Int32
    private let headDescriptor: Int32
    private var chain: EgressLedgerChain
    private var certificatePEM: String?

    /// Opens (or creates) the ledger in `folder`, continuing its chain. A ledger in the old unsigned format is kept
    /// beside as `egress.plain-<time>.jsonl` and a new chain begins; a last line torn by a crash is cut off.
    /// Then records an `open` entry with `agentVersion` and `policy`.
    public init(folder: URL, identity: @escaping () throws -> LedgerIdentity, agentVersion: String, policy: [String: String]) throws {
        self.folder = folder
        self.identity = identity
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(at: folder.appending(path: Self.archiveName), withIntermediateDirectories: true)
        } catch {
            throw FedCTError(.io, "cannot create the egress ledger's folder \(folder.path): \(error.localizedDescription); set state_dir to a writable folder")
        }
        let url = folder.appending(path: Self.ledgerName)
        var existing = (try? Data(contentsOf: url)).map { [UInt8]($0) } ?? []
        if let first = existing.split(separator: 0x0A).first, (try? EgressLedgerChain.unseal(first)) == nil {
            let kept = folder.appending(path: "egress.plain-\(Int(Date().timeIntervalSince1970)).jsonl")
            try fileManager.moveItem(at: url, to: kept)
            existing = []
        }
        if let end = existing.lastIndex(of: 0x0A), end != existing.count - 1 {
            existing = Array(existing[...end])
        } else if !existing.isEmpty && existing.last != 0x0A {
            existing = []
        }
        descriptor = open(url.path, O_WRONLY | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw FedCTError(.io, "cannot open the egress ledger \(url.path): \(String(cString: strerror(errno))); set state_dir to a writable folder")
        }
        guard ftruncate(descriptor, off_t(existing.count)) == 0, lseek(descriptor, 0, SEEK_END) >= 0 else {
            throw FedCTError(.io, "cannot prepare the egress ledger \(url.path): \(String(cString: strerror(errno)))")
        }
        headDescriptor = open(folder.appending(path: Self.headName).path, O_WRONLY | O_CREAT, 0o644)
        guard headDescriptor >= 0 else {
            throw FedCTError(.io, "cannot open \(folder.appending(path: Self.headName).path): \(String(cString: strerror(errno))); set state_dir to a writable folder")
        }
        chain = EgressLedgerChain()
        for line in existing.split(separator: 0x0A) {
            guard let sealed = try? EgressLedgerChain.unseal(line) else {
                throw FedCTError(.integrity, "the egress ledger \(url.path) has an unreadable entry; run `fedctl audit verify \(folder.path) --ca ca.pem` and keep the file for the review, then move it aside to start a new chain")
            }
            chain = EgressLedgerChain(after: sealed)
            if sealed.entry.type == .certificate { certificatePEM = sealed.entry.certificate }
        }
        var opening = EgressEntry(type: .open)
        opening.agentVersion = agentVersion
        opening.policy = policy
        _ = try append(opening)
    }

    deinit {
        close(descriptor)
        close(headDescriptor)
    }

    /// The next entry's sequence number.
    public var nextSeq: Int { chain.nextSeq }

    /// Seals `entry` (after a `certificate` entry when the signing certificate changed) and appends it; when `durable`,
    /// fsyncs it and refreshes `egress.head`. Throws — and records nothing — if the entry cannot be signed or written.
    @discardableResult
    public func append(_ entry: EgressEntry, durable: Bool = true) throws -> SealedEntry {
        let current = try identity()
        if current.certificatePEM != certificatePEM {
            var announce = EgressEntry(type: .certificate)
            announce.certificate = current.certificatePEM
            try write(announce, current, durable: true)
            certificatePEM = current.certificatePEM
        }
        return try write(entry, current, durable: durable)
    }

    @discardableResult
    private func write(_ entry: EgressEntry, _ identity: LedgerIdentity, durable: Bool) throws -> SealedEntry {
        var next = chain
        let (line, sealed) = try next.seal(entry, sign: identity.sign)
        // Where this line starts: a write that fails part-way (a full disk) is cut back to here, so the ledger never
        // keeps a torn line that later entries would follow.
        let start = lseek(descriptor, 0, SEEK_CUR)
        let failure: String? = line.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                written += result
            }
            return !durable || fsync(descriptor) == 0 ? nil : String(cString: strerror(errno))
        }
        if let failure {
            let restored = start >= 0 && ftruncate(descriptor, start) == 0 && lseek(descriptor, start, SEEK_SET) == start
            throw FedCTError(.io, "cannot append to the egress ledger \(url.path): \(failure); nothing was sent"
                             + (restored ? "; the ledger is intact: free space under state_dir and the site goes on"
                                         : "; the ledger's last line may be torn: free space and restart the site agent (it cuts a torn last line off)"))
        }
        chain = next
        // The head, rewritten in place without fsync: after a crash it may lag the ledger or be torn, never lead it.
        if durable {
            _ = line.withUnsafeBytes { pwrite(headDescriptor, $0.baseAddress, $0.count, 0) }
            _ = ftruncate(headDescriptor, off_t(line.count))
        }
        return sealed
    }

    /// Keeps `bytes` under `egress-archive/<subfolder>/<sha256>.<ext>` (content-addressed; written once) and returns the
    /// path relative to the ledger's folder, for an entry's `archive` field.
    public func archive(_ bytes: [UInt8], subfolder: String, extension ext: String) throws -> String {
        let relative = "\(Self.archiveName)/\(subfolder)/\(SHA256.hex(bytes)).\(ext)"
        let target = folder.appending(path: relative)
        guard !FileManager.default.fileExists(atPath: target.path) else { return relative }
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(bytes, to: target)
        } catch {
            throw FedCTError(.io, "cannot archive an outbound message in \(target.path): \(error); nothing was sent")
        }
        return relative
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a device keeps its token, the secret with which anyone who holds it acts as the device. The
/// library asks for it when it talks to the server and nowhere else. On Linux a file readable by its
/// owner only (`FileTokenStore`) keeps it; an app supplies its platform's keystore (a Keychain item on
/// Apple platforms, the Android Keystore) through this protocol.
public protocol TokenStore: Sendable {
    /// The token, or nil when none is kept.
    func read() throws -> String?
    /// Keeps `token` in place of any other.
    func write(_ token: String) throws
    /// Forgets the token (nothing happens when none is kept).
    func delete() throws
}

/// A token in a file of its own, mode 0600, replaced whole (a new file renamed over the old one).
public struct FileTokenStore: TokenStore {
    public let path: String

    public init(path: String) { self.path = path }

    public func read() throws -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw Self.failure("cannot read", path, errno) }
            return nil
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    public func write(_ token: String) throws {
        let temporary = path + ".new"
        unlink(temporary)
        // Created with its mode: the token is never readable by others, not even for a moment.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("cannot create", temporary, errno) }
        let bytes = Array(token.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw Self.failure("cannot write", path, error)
        }
        // The rename itself survives a crash once the folder is on disk too.
        let folder = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    public func delete() throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw Self.failure("cannot delete", path, errno) }
    }

    static func failure(_ what: String, _ path: String, _ code: Int32) -> ClientError {
        ClientError(.storage, "\(what) the device's token file \(path) (\(String(cString: strerror(code))))")
    }
}

/// A token kept in memory only (for a database in memory, and tests).
public final class MemoryTokenStore: TokenStore {
    private let token = Mutex<String?>(nil)

    public init() {}
    public func read() throws -> String? { token.withLock { $0 } }
    public func write(_ token: String) throws { self.token.withLock { $0 = token } }
    public func delete() throws { token.withLock { $0 = nil } }
}

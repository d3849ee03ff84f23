import Dispatch
import HealthSync
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a payload file, or standard input, into the `[UInt8]` a ``HealthSync/Replayer/Source`` holds.
///
/// Reading into `Data` and converting it copied the file once more and touched twice its size in new pages before the
/// first envelope was decoded (a 155 MB capture: 310 MB). Here a regular file is read straight into an array of its
/// size.
enum PayloadBytes {
    /// Why a file could not be read: the `errno` of the call that failed.
    struct ReadError: Error, Equatable, CustomStringConvertible {
        /// The `errno`.
        var code: Int32

        /// The system's text for ``code`` ("No such file or directory").
        var description: String { String(cString: strerror(code)) }
    }

    /// The bytes of the file at `path`.
    /// - Throws: ``ReadError`` when it cannot be opened or read (a directory fails its first read).
    static func read(path: String) throws(ReadError) -> [UInt8] {
        try readDigesting(path: path, digesting: false).bytes
    }

    /// The bytes of the file at `path` and their ``HealthSync/PayloadFile/digest(_:)``, computed beside the reads:
    /// a large file's parts are digested on another thread as they arrive (a 155 MB capture took 0.11 s to read and
    /// 0.18 s to digest, one after the other, before its first envelope).
    /// - Throws: ``ReadError`` when it cannot be opened or read.
    static func readWithDigest(path: String) throws(ReadError) -> (bytes: [UInt8], digest: String) {
        let (bytes, digest) = try readDigesting(path: path, digesting: true)
        return (bytes, digest ?? PayloadFile.digest(bytes))
    }

    private static func readDigesting(
        path: String, digesting: Bool
    ) throws(ReadError) -> (bytes: [UInt8], digest: String?) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError(code: errno) }
        defer { close(descriptor) }
        return try read(descriptor, digesting: digesting)
    }

    /// The bytes of standard input, up to its end.
    /// - Throws: ``ReadError`` when it cannot be read.
    static func readStandardInput() throws(ReadError) -> [UInt8] {
        try read(STDIN_FILENO, digesting: false).bytes
    }

    /// The size from which a file is digested beside its reads, and the size of each read then.
    static let digestedPart = 4 << 20

    /// Reads `descriptor` to its end: first into an array of the size `fstat` gives a regular file, then, for what
    /// is not a regular file or grew meanwhile, in chunks. With `digesting`, a regular file of at least
    /// ``digestedPart`` bytes is read in parts of that size, each digested on another thread while the next is
    /// read; the digest is `nil` otherwise (and when the file grew while it was read).
    private static func read(
        _ descriptor: Int32, digesting: Bool
    ) throws(ReadError) -> (bytes: [UInt8], digest: String?) {
        var status = stat()
        let isRegular = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        let size = isRegular ? max(0, Int(status.st_size)) : 0
        var failure: Int32?
        var digest: String?
        var bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            let digester = digesting && buffer.count >= digestedPart ? PartDigester(UnsafeRawPointer(base)) : nil
            defer { digest = digester?.finish(at: count) }
            let part = digester == nil ? buffer.count : digestedPart
            while count < buffer.count {
                switch readSome(descriptor, base + count, min(part, buffer.count - count)) {
                case .read(let length):
                    count += length
                    digester?.publish(count)
                case .end: return
                case .failed(let code):
                    failure = code
                    return
                }
            }
        }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        reading: while failure == nil {
            let result = chunk.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.map { readSome(descriptor, $0, buffer.count) } ?? .end
            }
            switch result {
            case .read(let length): bytes.append(contentsOf: chunk[..<length])
            case .end: break reading
            case .failed(let code): failure = code
            }
        }
        if let failure { throw ReadError(code: failure) }
        // Bytes appended after the first read (a file that grew) are not in the digest.
        return (bytes, bytes.count == size ? digest : nil)
    }

    /// Digests the bytes of a buffer on another thread as the reader publishes how many it has read; the reader
    /// writes only past what it published, and the digester reads only up to it.
    private final class PartDigester: @unchecked Sendable {
        // @unchecked: `base` is read only below the published count, which the reader no longer writes; the count
        // and the end are handed over under the mutex, and the semaphores order the threads.
        private let base: UnsafeRawPointer
        private let published = Mutex((count: 0, end: false))
        private let more = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private var digest = PayloadFile.Digest()

        init(_ base: UnsafeRawPointer) {
            self.base = base
            DispatchQueue.global(qos: .userInitiated).async { self.run() }
        }

        /// The first `count` bytes are read.
        func publish(_ count: Int) {
            published.withLock { $0.count = count }
            more.signal()
        }

        /// Waits until the first `count` bytes (all there are) are digested, and returns their digest.
        func finish(at count: Int) -> String {
            published.withLock { $0 = (count, true) }
            more.signal()
            done.wait()
            return digest.hex
        }

        private func run() {
            var digested = 0
            while true {
                more.wait()
                let (count, end) = published.withLock { ($0.count, $0.end) }
                if count > digested {
                    digest.update(UnsafeRawBufferPointer(start: base + digested, count: count - digested))
                    digested = count
                }
                if end { break }
            }
            done.signal()
        }
    }

    private enum ReadResult {
        case read(Int)
        case end
        case failed(Int32)
    }

    /// One `read(2)` of up to `count` bytes, retried when a signal interrupted it.
    private static func readSome(_ descriptor: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> ReadResult
    {
        while true {
            #if canImport(Glibc)
            let length = Glibc.read(descriptor, buffer, count)
            #else
            let length = Darwin.read(descriptor, buffer, count)
            #endif
            if length > 0 { return .read(length) }
            if length == 0 { return .end }
            if errno != EINTR { return .failed(errno) }
        }
    }
}

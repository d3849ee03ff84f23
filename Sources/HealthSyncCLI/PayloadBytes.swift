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
    struct ReadError: Error, CustomStringConvertible {
        /// The `errno`.
        var code: Int32

        /// The system's text for ``code`` ("No such file or directory").
        var description: String { String(cString: strerror(code)) }
    }

    /// The bytes of the file at `path`.
    /// - Throws: ``ReadError`` when it cannot be opened or read (a directory fails its first read).
    static func read(path: String) throws(ReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError(code: errno) }
        defer { close(descriptor) }
        return try read(descriptor)
    }

    /// The bytes of standard input, up to its end.
    /// - Throws: ``ReadError`` when it cannot be read.
    static func readStandardInput() throws(ReadError) -> [UInt8] {
        try read(STDIN_FILENO)
    }

    /// Reads `descriptor` to its end: first into an array of the size `fstat` gives a regular file, then, for what
    /// is not a regular file or grew meanwhile, in chunks.
    private static func read(_ descriptor: Int32) throws(ReadError) -> [UInt8] {
        var status = stat()
        let isRegular = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        let size = isRegular ? max(0, Int(status.st_size)) : 0
        var failure: Int32?
        var bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            while count < buffer.count {
                switch readSome(descriptor, base + count, buffer.count - count) {
                case .read(let length): count += length
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
        return bytes
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

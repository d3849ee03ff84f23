import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird

/// Reads an intake body with a size cap, decompressing `gzip` and `deflate` bodies as they stream in.
///
/// The cap holds for the bytes as sent and for the bytes after decompression. Decompression writes into a buffer
/// that never grows past the cap plus one byte, so a small body that would inflate to gigabytes (a gzip bomb) is
/// refused after at most `limit + 1` bytes were inflated.
struct RequestBodyReader: Sendable {
    /// How the body is encoded (`content-encoding`).
    enum Coding: Sendable, Equatable {
        case identity
        case gzip
        /// HTTP `deflate`: zlib-wrapped deflate (RFC 9110 §8.4.1.2).
        case deflate

        /// Parses a `content-encoding` value; `nil` for codings this server does not decode.
        init?(header: String?) {
            let codings =
                (header ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                .filter { !$0.isEmpty && $0 != "identity" }
            switch codings {
            case []: self = .identity
            case ["gzip"], ["x-gzip"]: self = .gzip
            case ["deflate"]: self = .deflate
            default: return nil
            }
        }
    }

    /// The largest accepted body, in bytes, before and after decompression.
    let limit: Int

    /// Reads the whole body.
    /// - Parameters:
    ///   - body: the request body.
    ///   - coding: its `content-encoding`.
    ///   - contentLength: the `content-length`, if sent; a larger value than ``limit`` is refused before reading.
    /// - Returns: the decoded bytes, at most ``limit`` of them.
    /// - Throws: ``HealthSyncHTTPError`` with ``HealthSyncHTTPError/Code/bodyTooLarge`` over the limit,
    ///   ``HealthSyncHTTPError/Code/invalidContentEncoding`` for a body that does not decompress,
    ///   ``HealthSyncHTTPError/Code/invalidBody`` for a body that does not arrive whole (cut short, malformed
    ///   chunked framing, a connection closed by the body timeout): all the client's doing.
    func read(
        _ body: RequestBody,
        coding: Coding,
        contentLength: Int?
    ) async throws(HealthSyncHTTPError) -> ByteBuffer {
        if let contentLength, contentLength > limit { throw tooLarge("the body is \(contentLength) bytes") }
        do {
            return try await collect(body, coding: coding)
        } catch let error as HealthSyncHTTPError {
            throw error
        } catch {
            throw HealthSyncHTTPError(
                code: .invalidBody,
                message: "the body did not arrive whole (\(String(describing: type(of: error)))); nothing was applied"
            )
        }
    }

    private func collect(_ body: RequestBody, coding: Coding) async throws -> ByteBuffer {
        switch coding {
        case .identity:
            var collected = ByteBuffer()
            for try await chunk in body {
                guard collected.readableBytes + chunk.readableBytes <= limit else {
                    throw tooLarge("the body is larger than that")
                }
                var chunk = chunk
                collected.writeBuffer(&chunk)
            }
            return collected
        case .gzip, .deflate:
            var inflater = try Inflater(coding: coding, limit: limit)
            var received = 0
            for try await chunk in body {
                received += chunk.readableBytes
                guard received <= limit else { throw tooLarge("the compressed body is larger than that") }
                try inflater.inflate(chunk)
            }
            return try inflater.finish()
        }
    }

    private func tooLarge(_ what: String) -> HealthSyncHTTPError {
        HealthSyncHTTPError(
            code: .bodyTooLarge, message: "\(what); at most \(limit) bytes are accepted", limit: limit
        )
    }

    /// Streams compressed chunks through zlib into a capped output buffer.
    struct Inflater {
        private let decompressor: ZlibDecompressor
        private let limit: Int
        private let name: String
        private var output: ByteBuffer
        private var ended = false

        init(coding: Coding, limit: Int) throws(HealthSyncHTTPError) {
            self.limit = limit
            name = coding == .gzip ? "gzip" : "deflate"
            do {
                decompressor = try ZlibDecompressor(algorithm: coding == .gzip ? .gzip : .zlib)
            } catch {
                throw HealthSyncHTTPError(code: .internalError, message: "cannot start decompression: \(error)")
            }
            output = ByteBufferAllocator().buffer(capacity: min(limit + 1, 64 * 1024))
        }

        /// Inflates one chunk.
        mutating func inflate(_ chunk: ByteBuffer) throws(HealthSyncHTTPError) {
            var input = chunk
            while input.readableBytes > 0 {
                if ended { throw corrupt("data follows the end of the \(name) stream") }
                try makeRoom()
                do {
                    try decompressor.inflate(from: &input, to: &output)
                    // zlib stops early with input left only at the end of the stream.
                    if input.readableBytes > 0 { ended = true }
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    // The output is full: check the limit, make room and go on.
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    return  // all input consumed; more is needed
                } catch {
                    throw corrupt("the body is not valid \(name) data")
                }
                guard output.readableBytes <= limit else { throw tooLarge() }
            }
        }

        /// Drains what zlib still holds, checks that the stream ended and returns the inflated bytes.
        mutating func finish() throws(HealthSyncHTTPError) -> ByteBuffer {
            // An empty input tells zlib there is no more data: it flushes what it holds, then confirms the end
            // (a call that writes nothing and throws nothing) or asks for more input (truncated).
            var empty = ByteBufferAllocator().buffer(capacity: 1)
            while !ended {
                try makeRoom()
                let written = output.writerIndex
                do {
                    try decompressor.inflate(from: &empty, to: &output)
                    if output.writerIndex == written { ended = true }
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    // More output is pending: make room and go on.
                } catch let error as CompressNIOError where error == .inputBufferOverflow {
                    throw corrupt("the \(name) stream is truncated")
                } catch {
                    throw corrupt("the body is not valid \(name) data")
                }
                guard output.readableBytes <= limit else { throw tooLarge() }
            }
            return output
        }

        /// Ensures free space in the output, growing it up to `limit + 1` bytes.
        private mutating func makeRoom() throws(HealthSyncHTTPError) {
            guard output.writableBytes == 0 else { return }
            guard output.capacity <= limit else { throw tooLarge() }
            output.reserveCapacity(min(limit + 1, max(output.capacity * 2, 4096)))
        }

        private func tooLarge() -> HealthSyncHTTPError {
            HealthSyncHTTPError(
                code: .bodyTooLarge,
                message: "the \(name) body inflates to more than \(limit) bytes; at most \(limit) are accepted",
                limit: limit
            )
        }

        private func corrupt(_ message: String) -> HealthSyncHTTPError {
            HealthSyncHTTPError(code: .invalidContentEncoding, message: message)
        }
    }

    /// Compresses `bytes` as gzip, or as HTTP `deflate` (tests build compressed bodies with it).
    static func compress(_ bytes: some Sequence<UInt8>, as coding: Coding = .gzip) throws -> ByteBuffer {
        var input = ByteBuffer(bytes: Array(bytes))
        switch coding {
        case .identity: return input
        case .gzip: return try input.compress(with: .gzip())
        case .deflate: return try input.compress(with: .zlib())
        }
    }
}

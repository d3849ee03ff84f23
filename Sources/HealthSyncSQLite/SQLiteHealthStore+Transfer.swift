import Foundation
internal import GRDB
import HealthSync

/// Copies: the receipts a page at a time, and a load that is one write transaction on the writer connection, fed a
/// page at a time by the copy's async reads of its source.
extension SQLiteHealthStore: HealthStoreTransfer {
    /// Whether the store holds no stream, sub-stream, event or receipt, and no clock.
    /// - Throws: ``HealthSync/StorageError``.
    public func isEmpty() async throws(StorageError) -> Bool {
        try await read("checking whether the store is empty") { db in try Self.isEmpty(db) }
    }

    static func isEmpty(_ db: Database) throws -> Bool {
        let tables = ["stream", "subStream", "event", "receipt", "processorState"]
        let sql = "SELECT " + tables.map { "NOT EXISTS (SELECT 1 FROM \($0))" }.joined(separator: " AND ")
        return try Bool.fetchOne(db, sql: sql) ?? false
    }

    /// One page of the receipts, sorted by their bytes (the primary key's order).
    /// - Throws: ``HealthSync/StorageError``.
    public func receipts(after receipt: String?, limit: Int) async throws(StorageError) -> [StoredReceipt] {
        try await read("reading a page of receipts") { db in
            let statement = try db.cachedStatement(
                sql: "SELECT receipt, clock FROM receipt WHERE receipt > ? ORDER BY receipt LIMIT ?")
            // Every receipt sorts after the empty text but the empty receipt, which no commit makes.
            return try Self.fetch(statement, [receipt ?? "", max(1, limit)]) { row in
                StoredReceipt(receipt: try row.decode(String.self, atIndex: 0), clock: try row.optionalDate(atIndex: 1))
            }
        }
    }

    /// Runs `body` while one write transaction on the writer connection inserts what its loader is given: each
    /// ``HealthSync/HealthStoreLoader/insert(_:)`` hands its page to the transaction and returns once the page is
    /// written. The transaction commits when `body` returns and rolls back when it, or a write, throws. The
    /// context cache is emptied either way.
    ///
    /// The transaction holds the writer connection for the whole load: this store's other writes wait for it, and
    /// other processes' writers wait for the busy timeout and fail.
    /// - Throws: ``HealthSync/StorageError`` with ``HealthSync/StorageError/Code/conflict`` when the store is not
    ///   empty; any failure of the writes; what `body` throws.
    public func load<T: Sendable>(_ body: (any HealthStoreLoader) async throws -> T) async throws -> T {
        let channel = LoadChannel()
        let (cache, texts) = (self.cache, eventTexts)
        // The writer waits for the pages `body` sends: until it ended, commits must not block a thread on it.
        taskFed.opened()
        defer { taskFed.closed() }
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask {
                do throws(StorageError) {
                    try await write("loading a copy") { db in
                        try texts.beginTransaction(in: db)
                        if let cache {
                            db.afterNextTransaction(
                                onCommit: { _ in cache.invalidate() }, onRollback: { _ in cache.invalidate() })
                        }
                        guard try Self.isEmpty(db) else {
                            throw StorageError(
                                code: .conflict,
                                message: "the store is not empty: a copy loads only into an empty store")
                        }
                        while let contents = try channel.next() {
                            do {
                                try Self.insert(contents, in: db, texts: texts)
                                channel.finishPage(nil)
                            } catch {
                                let failure = Self.storageError(error, while: "loading a copy")
                                channel.finishPage(failure)
                                throw failure
                            }
                        }
                    }
                    channel.writerEnded(nil)
                } catch {
                    channel.writerEnded(error)
                    throw error
                }
            }
            let value: T
            do {
                value = try await body(ChannelLoader(channel: channel))
            } catch {
                channel.close(commit: false)
                // The rollback is done when the writer returns: only then does the store hold nothing of the load.
                while (try? await group.next()) != nil {}
                throw error
            }
            channel.close(commit: true)
            try await group.waitForAll()
            return value
        }
    }

    /// Writes `contents` as they are, in the current transaction, the events' texts keyed by `texts`.
    static func insert(_ contents: StoreContents, in db: Database, texts: EventTexts) throws {
        if !contents.streams.isEmpty {
            let statement = try db.cachedStatement(
                sql: "INSERT INTO stream (urn, consistencyModel, createdAt, version) VALUES (?, ?, ?, ?)")
            for stream in contents.streams {
                try statement.execute(arguments: [
                    stream.urn, stream.consistencyModel.rawValue, stream.createdAt.storedValue, stream.version,
                ])
            }
        }
        if !contents.subStreams.isEmpty {
            let statement = try db.cachedStatement(sql: insertSubStreamCopySQL)
            for subStream in contents.subStreams {
                try statement.execute(
                    arguments: [subStream.key.urn, subStream.key.subStreamId] + subStreamValues(subStream)
                        + [subStream.version])
            }
        }
        if !contents.checkStates.isEmpty { try save(contents.checkStates, in: db) }
        if !contents.errors.isEmpty { try save(contents.errors, in: db) }
        if !contents.events.isEmpty {
            let statement = try DirectStatement(db, sql: insertEventSQL)
            var last: Int64 = 0
            for (index, event) in contents.events.enumerated() {
                guard let sequence = event.sequence else {
                    throw StorageError(
                        code: .failed, message: "an event of \(event.urn) to copy has no sequence: it was never stored")
                }
                statement.bind(1, sequence)
                statement.bind(2, event.at.storedValue)
                try texts.insert(contents.events, at: index, with: statement, from: 3, in: db)
                last = max(last, sequence)
            }
            // The store's next events follow the copied ones.
            try db.execute(sql: "UPDATE eventSequence SET last = max(last, ?) WHERE id = 1", arguments: [last])
        }
        if !contents.receipts.isEmpty {
            let statement = try db.cachedStatement(sql: "INSERT INTO receipt (receipt, clock) VALUES (?, ?)")
            for receipt in contents.receipts {
                try statement.execute(arguments: [receipt.receipt, receipt.clock?.storedValue])
            }
        }
        if let clock = contents.clock {
            try db.execute(
                sql: """
                    INSERT INTO processorState (id, clock) VALUES (1, ?)
                    ON CONFLICT (id) DO UPDATE SET clock = max(clock, excluded.clock)
                    """,
                arguments: [clock.storedValue])
        }
    }

    private static let insertSubStreamCopySQL = """
        INSERT INTO subStream (urn, subStreamId, \(subStreamValueColumns.joined(separator: ", ")), version)
        VALUES (?, ?, \(Array(repeating: "?", count: subStreamValueColumns.count).joined(separator: ", ")), ?)
        """
}

/// The loader of ``SQLiteHealthStore/load(_:)``: hands each page to the write transaction.
private struct ChannelLoader: HealthStoreLoader {
    let channel: LoadChannel

    func insert(_ contents: StoreContents) async throws {
        try await channel.send(contents)
    }
}

/// The hand-over between a load's async side, which reads the source, and its write transaction, which runs
/// synchronously on the writer connection's queue: one page at a time, each acknowledged once written.
///
/// The transaction waits for the next page on a condition variable. It blocks the writer's dispatch queue, which is
/// the writer's own thread and never one of the concurrency pool's: the async side keeps running.
///
/// `@unchecked Sendable`: every stored property is read and written only with `condition` locked.
private final class LoadChannel: @unchecked Sendable {
    private enum State {
        /// Pages may come.
        case open
        /// No more pages: commit, or roll back.
        case closed(commit: Bool)
    }

    private let condition = NSCondition()
    private var state = State.open
    /// A page sent and not yet taken by the transaction.
    private var waiting: StoreContents?
    /// The sender of the page being handed over or written, resumed when it is written.
    private var sender: CheckedContinuation<Void, any Error>?
    /// Set once the transaction ended: later pages fail with it.
    private var ended: (any Error)??

    /// Sends `contents` to the transaction and returns once they are written.
    /// - Throws: the write's failure, or the transaction's when it already ended.
    func send(_ contents: StoreContents) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            defer { condition.unlock() }
            if let ended {
                continuation.resume(
                    throwing: ended
                        ?? StorageError(code: .failed, message: "a page was sent after the copy's transaction ended"))
                return
            }
            waiting = contents
            sender = continuation
            condition.signal()
        }
    }

    /// The transaction's side: the next page, waiting for it; `nil` once the load is to commit.
    /// - Throws: when the load is to roll back.
    func next() throws -> StoreContents? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let contents = waiting {
                waiting = nil
                return contents
            }
            switch state {
            case .open: condition.wait()
            case .closed(commit: true): return nil
            case .closed(commit: false):
                throw StorageError(code: .failed, message: "the copy failed: its transaction is rolled back")
            }
        }
    }

    /// The transaction's side: the page taken by ``next()`` is written (`failure` is `nil`) or failed.
    func finishPage(_ failure: (any Error)?) {
        condition.lock()
        let sender = self.sender
        self.sender = nil
        condition.unlock()
        if let failure { sender?.resume(throwing: failure) } else { sender?.resume() }
    }

    /// The transaction ended: a page still waiting, and every later one, fails with `failure` (or a failure saying
    /// the transaction ended).
    func writerEnded(_ failure: (any Error)?) {
        condition.lock()
        ended = .some(failure)
        let sender = self.sender
        self.sender = nil
        waiting = nil
        condition.unlock()
        sender?.resume(
            throwing: failure ?? StorageError(code: .failed, message: "the copy's transaction ended before this page"))
    }

    /// The async side: no more pages; the transaction commits, or rolls back.
    func close(commit: Bool) {
        condition.lock()
        state = .closed(commit: commit)
        condition.signal()
        condition.unlock()
    }
}

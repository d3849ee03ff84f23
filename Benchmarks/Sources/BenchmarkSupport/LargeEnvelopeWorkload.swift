import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTesting

/// The order in which a large envelope carries its check-state ids.
public enum CheckStateIdOrder: String, Sendable, CaseIterable {
    case ascending, descending, shuffled

    /// Ids `check-000000` … in this order (zero-padded, so that their byte order is their numeric order).
    public func ids(_ count: Int) -> [String] {
        let ascending = (0..<count).map { "check-" + String(repeating: "0", count: 6 - String($0).count) + String($0) }
        switch self {
        case .ascending: return ascending
        case .descending: return ascending.reversed()
        case .shuffled:
            // A fixed permutation, so that runs compare.
            var generator = SeededRandom(seed: 0x4845_414C_5448)
            return ascending.shuffled(using: &generator)
        }
    }
}

/// Issue 13's probe of one envelope freezing the intake: a stream receives an envelope of many check states (and,
/// optionally, an empty snapshot that deletes them all), then another stream sends one small envelope. The time
/// of that next envelope is the wait every other client of the store would see.
public struct LargeEnvelopeWorkload: Sendable {
    /// Check states in the large envelope.
    public var checkStates: Int
    /// The order of their ids.
    public var order: CheckStateIdOrder
    /// The store's context-cache capacity (0: no cache).
    public var contextCacheCapacity: Int
    /// Whether an empty snapshot deletes the large envelope's check states before the next envelope.
    public var deleteAll: Bool

    /// Creates the workload.
    public init(checkStates: Int, order: CheckStateIdOrder, contextCacheCapacity: Int, deleteAll: Bool = false) {
        self.checkStates = checkStates
        self.order = order
        self.contextCacheCapacity = contextCacheCapacity
        self.deleteAll = deleteAll
    }

    static let largeURN = "urn:health:bench:large"
    static let nextURN = "urn:health:bench:next"

    /// A store in `directory` with the large envelope (and the deletion) applied: ready for ``next(_:)``.
    public func prepare(in directory: ScratchDirectory) async throws -> HealthProcessor {
        let store = try SQLiteHealthStore(
            path: directory.file("health.sqlite"), contextCacheCapacity: contextCacheCapacity)
        let processor = HealthProcessor(store: store)
        // The next stream exists and is cached beforehand, as a busy intake's streams are.
        _ = try await processor.apply(try Self.envelope(Self.nextURN, ["a"]), at: Self.time(0))
        _ = try await processor.apply(try Self.envelope(Self.largeURN, order.ids(checkStates)), at: Self.time(1))
        if deleteAll { _ = try await processor.apply(try Self.envelope(Self.largeURN, []), at: Self.time(2)) }
        return processor
    }

    /// Applies the next small envelope of another stream.
    public func next(_ processor: HealthProcessor) async throws {
        _ = try await processor.apply(try Self.envelope(Self.nextURN, ["a", "b"]), at: Self.time(3))
    }

    private static func time(_ step: Double) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + step) }

    private static func envelope(_ urn: String, _ ids: [String]) throws -> Envelope {
        let text = Payload.envelope([Payload.snapshot(urn, states: ids.map { Payload.checkState($0) })])
        // 100,000 check states are about 9 MB of JSON here: over the intake's default limit, not the point.
        return try EnvelopeDecoder(configuration: .init(maximumBodyBytes: 64 << 20)).decode(Array(text.utf8))
    }
}


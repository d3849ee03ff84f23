import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// A processor over a fresh store, with shorthands that decode JSON text and apply it at epoch-second times.
struct Harness {
    let store: any HealthStoreQueries
    let processor: HealthProcessor
    let decoder: EnvelopeDecoder

    init(_ kind: StoreKind, lateGrace: TimeInterval = 0, strict: Bool = false) throws {
        self.init(store: try kind.makeStore(), lateGrace: lateGrace, strict: strict)
    }

    init(store: any HealthStoreQueries, lateGrace: TimeInterval = 0, strict: Bool = false) {
        self.store = store
        self.processor = HealthProcessor(
            store: store, configuration: HealthProcessor.Configuration(lateGrace: lateGrace)
        )
        self.decoder = EnvelopeDecoder(strict: strict)
    }

    /// Decodes and applies an envelope made of `messages` at time `t`.
    @discardableResult
    func send(at t: Double, _ messages: String...) async throws -> IntakeResult {
        let envelope = try decoder.decode(Array(Payload.envelope(at: t, messages).utf8))
        return try await processor.apply(envelope, at: Date(timeIntervalSince1970: t))
    }

    /// Advances the clock to `t`, firing timers due strictly before it.
    @discardableResult
    func advance(to t: Double) async throws -> SweepResult {
        try await processor.advance(to: Date(timeIntervalSince1970: t))
    }

    /// Check-state id → health of one sub-stream.
    func healths(_ urn: String, subStream: String? = nil) async throws -> [String: Health] {
        var result: [String: Health] = [:]
        for state in try await store.checkStates(of: StreamKey(urn: urn, subStreamId: subStream)) {
            result[state.checkStateId] = state.checkState.health
        }
        return result
    }

    /// The open error codes of a stream: stream-level ones prefixed `stream:`, sub-stream ones by sub-stream
    /// (`main:` or `ID:`).
    func errorCodes(_ urn: String) async throws -> Set<String> {
        Set(
            try await store.errors(of: urn).map { error in
                let scope =
                    error.key.streamLevel ? "stream" : (error.key.subStreamId.isEmpty ? "main" : error.key.subStreamId)
                return "\(scope):\(error.code.rawValue)"
            })
    }

    /// One open error record.
    func error(
        _ urn: String, _ code: StreamErrorCode, subStream: String = "", streamLevel: Bool = false
    )
        async throws -> ErrorRecord?
    {
        try await store.errors(of: urn).first {
            $0.code == code && $0.key.subStreamId == subStream && $0.key.streamLevel == streamLevel
        }
    }

    /// Events of a stream, oldest first.
    func events(_ urn: String, _ kind: HealthEvent.Kind? = nil) async throws -> [HealthEvent] {
        try await store.events(EventQuery(urn: urn)).filter { kind == nil || $0.kind == kind }
    }
}

extension Date {
    /// Epoch seconds, for short assertions.
    var epoch: Double { timeIntervalSince1970 }
}

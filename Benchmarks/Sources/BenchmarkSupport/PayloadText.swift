import Foundation
import HealthSync
import HealthSyncTesting

/// JSON text of generated messages, through `HealthSyncTesting.Payload`, for the decode benchmarks and captures.
public enum PayloadText {
    /// One message as JSON.
    public static func json(_ message: HealthMessage) -> String {
        let states = message.checkStates.map { input -> String in
            switch input {
            case .upsert(let state):
                Payload.checkState(
                    state.checkStateId, health: state.health.rawValue, name: state.name,
                    element: state.topologyElementIdentifier, message: state.message
                )
            case .delete(let id): Payload.deletion(id)
            case .invalid(let id, _): Payload.checkState(id ?? "", health: "UNKNOWN")
            }
        }
        let urn = message.stream.urn
        let subStream = message.stream.isMain ? nil : message.stream.subStreamId
        switch message.consistencyModel {
        case .repeatSnapshots:
            return Payload.snapshot(
                urn, subStream: subStream, repeatInterval: message.startSnapshot?.repeatInterval ?? 60,
                expiryInterval: message.startSnapshot?.expiry, start: message.startSnapshot != nil,
                stop: message.stopSnapshot, states: states
            )
        case .repeatStates:
            return Payload.repeatStates(
                urn, subStream: subStream, repeatInterval: message.expiry?.repeatInterval ?? 60,
                expiryInterval: message.expiry?.expiry, setup: message.expiry != nil, states: states
            )
        case .transactionalIncrements:
            return Payload.increment(
                urn, subStream: subStream, checkpoint: message.increment?.checkpoint ?? Checkpoint(offset: 0),
                previous: message.increment?.previousCheckpoint, states: states
            )
        }
    }

    /// An intake envelope of one REPEAT_SNAPSHOTS message carrying `count` check states of about 240 bytes each.
    public static func decodeEnvelope(checkStates count: Int) -> [UInt8] {
        let states = (0..<count).map { slot in
            ChurnWorkload.checkState(stream: 7, slot: slot, health: slot % 10 == 0 ? .deviating : .clear)
        }
        let message = HealthMessage(
            stream: StreamKey(urn: ChurnWorkload.urn(7)), startSnapshot: Intervals(repeatInterval: 60),
            stopSnapshot: true, checkStates: states.map(CheckStateInput.upsert)
        )
        return Array(Payload.envelope(at: 1_700_000_000, [json(message)]).utf8)
    }
}

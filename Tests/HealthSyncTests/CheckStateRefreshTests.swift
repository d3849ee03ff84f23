import Foundation
import HealthSync
import HealthSyncSQLite
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// A snapshot that repeats most of a sub-stream's check states reaches a store that prefers refreshes as one
/// ``StoreChange/CheckStateRefresh`` (and rows only for what is new or changed), and leaves exactly what saving every
/// check state leaves: the same check states, *last seen* times, snapshot sequences and events as a processor over
/// a store that is sent no refreshes.
@Suite struct CheckStateRefreshTests {
    static let urn = "urn:health:test:refresh"

    static func snapshot(_ states: [String], start: Bool = true, stop: Bool = true) -> String {
        Payload.snapshot(urn, repeatInterval: 60, start: start, stop: stop, states: states)
    }

    static func states(_ healths: [String: String]) -> [String] {
        healths.keys.sorted().map { Payload.checkState($0, health: healths[$0] ?? "CLEAR") }
    }

    /// The store that applies the refreshes: each kind of `PipelineTests`.
    @Test(arguments: PipelineTests.kinds)
    func repeatedSnapshotsAreRefreshedInOneWriteAndLeaveWhatRowSavesLeave(_ base: StoreKind) async throws {
        let directory = try PipelineTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("refresh.sqlite").path
        let store = ControlledStore(try base.makeStore(at: path), prefersCheckStateRefreshes: true)
        let subject = HealthProcessor(store: store)
        let reference = HealthProcessor(store: InMemoryHealthStore())
        #expect((reference.store as? any PipelinedHealthStore)?.prefersCheckStateRefreshes != true)
        let decoder = EnvelopeDecoder()

        var healths = ["c0": "CLEAR", "c1": "CLEAR", "c2": "CLEAR", "c3": "CLEAR", "c4": "CLEAR", "c5": "CLEAR"]
        // Each step: envelopes applied as one batch (each at its time), and the check-state writes its commit makes.
        var steps: [(name: String, envelopes: [(Double, [String])], writes: ControlledStore.CheckStateWrites)] = []
        steps.append(
            ("first snapshot", [(1_000, [Self.snapshot(Self.states(healths))])], .init(refreshes: 0, saved: 6)))
        steps.append(
            ("identical repeat", [(1_030, [Self.snapshot(Self.states(healths))])], .init(refreshes: 1, saved: 0)))
        healths["c0"] = "DEVIATING"
        steps.append(
            ("one health changed", [(1_060, [Self.snapshot(Self.states(healths))])], .init(refreshes: 1, saved: 1)))
        healths["c5"] = nil
        healths["c6"] = "CRITICAL"
        steps.append(
            ("one new, one left out", [(1_090, [Self.snapshot(Self.states(healths))])], .init(refreshes: 1, saved: 1)))
        // c1 with an unknown health counts as seen: it keeps its content and is saved as a row of its own (it is
        // marked seen through a save), the others with one refresh.
        var invalid = Self.states(healths)
        invalid[1] = Payload.checkState("c1", health: "PURPLE")
        steps.append(
            ("one invalid check state", [(1_120, [Self.snapshot(invalid)])], .init(refreshes: 1, saved: 1)))
        let all = Self.states(healths)
        let firstHalf = Self.snapshot(Array(all.prefix(3)), stop: false)
        let secondHalf = Self.snapshot(Array(all.dropFirst(3)), start: false)
        steps.append(("first half of a snapshot", [(1_150, [firstHalf])], .init(refreshes: 0, saved: 3)))
        steps.append(("second half, a second later", [(1_151, [secondHalf])], .init(refreshes: 0, saved: 3)))
        steps.append(
            (
                "both halves in one batch, one time", [(1_180, [firstHalf]), (1_180, [secondHalf])],
                .init(refreshes: 1, saved: 0)
            ))
        steps.append(
            (
                "both halves in one batch, two times", [(1_210, [firstHalf]), (1_211, [secondHalf])],
                .init(refreshes: 0, saved: 6)
            ))
        healths["c2"] = "DEVIATING"
        healths["c3"] = "CRITICAL"
        healths["c4"] = "DEVIATING"
        healths["c1"] = nil
        // Two of five only refreshed: rows are cheaper than a range update of five.
        steps.append(("most changed", [(1_240, [Self.snapshot(Self.states(healths))])], .init(refreshes: 0, saved: 5)))
        steps.append(
            ("identical again", [(1_270, [Self.snapshot(Self.states(healths))])], .init(refreshes: 1, saved: 0)))

        for step in steps {
            let context = Comment(rawValue: "\(base): \(step.name)")
            let entries = try step.envelopes.map { time, messages in
                HealthProcessor.BatchEntry(
                    try decoder.decode(Array(Payload.envelope(at: time, messages).utf8)),
                    at: Date(timeIntervalSince1970: time))
            }
            #expect(try await subject.apply(batch: entries) == reference.apply(batch: entries), context)
            #expect(store.writes.last == step.writes, context)
            #expect(try await store.allCheckStates() == reference.queries.allCheckStates(), context)
        }
        #expect(try await store.events(EventQuery()) == reference.queries.events(EventQuery()))
        #expect(try await store.streams() == reference.queries.streams())
        // What the file holds, read without any cache.
        if base.isFile {
            let reopened = try SQLiteHealthStore(path: path, contextCacheCapacity: 0)
            #expect(try await reopened.allCheckStates() == reference.queries.allCheckStates())
        }
    }

    /// REPEAT_STATES refreshes every check state a message repeats: a message that repeats them all, read as a
    /// whole sub-stream, is one refresh; one that repeats a few, read by id, saves rows.
    @Test func repeatStatesMessagesThatRepeatEveryCheckStateAreRefreshed() async throws {
        let store = ControlledStore(try SQLiteHealthStore.inMemory(contextCacheCapacity: 0))
        let subject = Harness(store: store)
        let reference = try Harness(.inMemory)
        let states = (0..<10).map { Payload.checkState("c\($0)") }
        for (time, message) in [
            (1_000.0, Payload.repeatStates(Self.urn, states: states)),
            (1_030.0, Payload.repeatStates(Self.urn, setup: false, states: states)),
            (1_060.0, Payload.repeatStates(Self.urn, setup: false, states: Array(states.prefix(3)))),
        ] {
            #expect(try await subject.send(at: time, message) == reference.send(at: time, message))
            #expect(try await store.allCheckStates() == reference.store.allCheckStates())
        }
        #expect(
            store.writes == [
                .init(refreshes: 0, saved: 10), .init(refreshes: 1, saved: 0), .init(refreshes: 0, saved: 3),
            ])
    }

    /// ``StoreChange/refreshesMayFollowSaves`` holds when each refreshed sub-stream is refreshed once and its saved
    /// check states are at the refresh's time and sequence (saves of other sub-streams do not matter), and not when a
    /// save there has another time or sequence or a sub-stream is refreshed twice.
    @Test func refreshesMayFollowSavesOnlyWhenTheSavesAreAtTheRefreshTime() {
        let main = StreamKey.main(Self.urn)
        let other = StreamKey(urn: Self.urn, subStreamId: "other")
        let time = Date(timeIntervalSince1970: 1_000)
        func saved(_ key: StreamKey, at seconds: Double = 1_000, sequence: Int64 = 4) -> StoredCheckState {
            StoredCheckState(
                key: key,
                checkState: CheckState(
                    checkStateId: "c", name: "c", health: .clear, topologyElementIdentifier: "urn:host:/c"),
                lastSeenAt: Date(timeIntervalSince1970: seconds),
                snapshotSequence: sequence)
        }
        func change(
            refreshes: [StoreChange.CheckStateRefresh], saves: [StoredCheckState]
        ) -> StoreChange {
            var change = StoreChange()
            change.refreshedCheckStates = refreshes
            change.savedCheckStates = saves
            return change
        }
        let refresh = StoreChange.CheckStateRefresh(key: main, lastSeenAt: time, snapshotSequence: 4)

        #expect(!change(refreshes: [], saves: [saved(main)]).refreshesMayFollowSaves)
        #expect(change(refreshes: [refresh], saves: []).refreshesMayFollowSaves)
        #expect(
            change(refreshes: [refresh], saves: [saved(main), saved(other, at: 5, sequence: 9)]).refreshesMayFollowSaves
        )
        #expect(!change(refreshes: [refresh], saves: [saved(main), saved(main, at: 999)]).refreshesMayFollowSaves)
        #expect(!change(refreshes: [refresh], saves: [saved(main, sequence: 3)]).refreshesMayFollowSaves)
        // The saves of a sub-stream need not follow each other.
        let interleaved = [saved(main), saved(other, at: 5), saved(main), saved(main, sequence: 5)]
        #expect(!change(refreshes: [refresh], saves: interleaved).refreshesMayFollowSaves)
        #expect(change(refreshes: [refresh], saves: Array(interleaved.prefix(3))).refreshesMayFollowSaves)
        #expect(!change(refreshes: [refresh, refresh], saves: []).refreshesMayFollowSaves)
    }
}

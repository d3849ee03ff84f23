import Foundation
import HealthSyncTesting
import Testing

@testable import HealthSync

/// The working set's storage of a sub-stream's staged check states: check states as read are kept in the read's
/// array and only marked when seen again; every answer must be what a plain dictionary of staged copies, edited with
/// the same rules, gives.
@Suite struct StagedCheckStatesTests {
    private typealias Staged = WorkingSet.StagedCheckState

    private static let key = StreamKey.main("urn:health:test:staged")

    /// The former storage: a copy of every staged check state in a dictionary, edited in place, and the ids saved
    /// in the order first saved.
    private struct Model {
        var states: [String: Staged] = [:]
        var savedOrder: [String] = []

        mutating func set(_ staged: Staged, for id: String) -> Staged? {
            let replaced = states.updateValue(staged, forKey: id)
            if staged.saved && replaced?.saved != true { savedOrder.append(id) }
            return replaced
        }

        mutating func remove(_ id: String) -> Staged? {
            let removed = states.removeValue(forKey: id)
            if removed?.saved == true { savedOrder.removeAll { $0 == id } }
            return removed
        }

        mutating func refresh(
            _ checkState: CheckState, liveness: CheckStateLiveness?, sequence: Int64, at now: Date
        ) -> WorkingSet.Upsert? {
            guard var staged = states[checkState.checkStateId] else { return nil }
            let upsert: WorkingSet.Upsert
            let livenessChanged = staged.state.liveness != liveness
            if livenessChanged {
                staged.state.liveness = liveness
                staged.contentStored = false
            }
            if staged.state.checkState != checkState {
                upsert = .updated(previous: staged.state.checkState.health)
                staged.state.checkState = checkState
                staged.contentStored = false
            } else if !livenessChanged && staged.state.lastSeenAt == now && staged.state.snapshotSequence == sequence {
                return .unchanged
            } else {
                upsert = .refreshed
            }
            staged.state.lastSeenAt = now
            staged.state.snapshotSequence = sequence
            if !staged.saved { savedOrder.append(checkState.checkStateId) }
            staged.saved = true
            states[checkState.checkStateId] = staged
            return upsert
        }
    }

    private static func checkState(_ id: Int, health: Health = .clear, message: String? = nil) -> CheckState {
        CheckState(
            checkStateId: "check-\(id)", name: "Check \(id)", health: health,
            topologyElementIdentifier: "urn:host:/host-\(id)", message: message)
    }

    private static func outcome(_ result: WorkingSet.Upsert?) -> String {
        guard let upsert = result else { return "absent" }
        let name =
            switch upsert {
            case .created: "created"
            case .updated(let previous): "updated from \(previous.rawValue)"
            case .refreshed: "refreshed"
            case .unchanged: "unchanged"
            }
        return name
    }

    private static func same(_ lhs: Staged?, _ rhs: Staged?) -> Bool {
        lhs?.state == rhs?.state && lhs?.saved == rhs?.saved && lhs?.contentStored == rhs?.contentStored
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func answersAsADictionaryOfCopiesUnderRandomEdits(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let time = Date(timeIntervalSince1970: 1_700_000_000)
        let read = (0..<40).filter { _ in random.chance(0.8) }.map { id in
            StoredCheckState(
                key: Self.key, checkState: Self.checkState(id), lastSeenAt: time,
                snapshotSequence: Int64(random.below(3)),
                liveness: random.chance(0.2) ? CheckStateLiveness(interval: 60, grace: 10) : nil)
        }
        // Positions as a cache hands them, or worked out by the storage.
        let positions = Dictionary(uniqueKeysWithValues: read.enumerated().map { ($1.checkStateId, $0) })
        var staged = WorkingSet.StagedCheckStates(read: read, positions: seed.isMultiple(of: 2) ? nil : positions)
        var model = Model()
        for state in read { model.states[state.checkStateId] = Staged(state: state, saved: false) }
        for step in 0..<400 {
            let id = random.below(50)
            let name = "check-\(id)"
            let now = time.addingTimeInterval(Double(random.below(3)))
            let sequence = Int64(random.below(3))
            switch random.below(10) {
            case 0...4:
                let health: Health = random.chance(0.8) ? .clear : .critical
                let liveness = random.chance(0.2) ? CheckStateLiveness(interval: 60, grace: 10) : nil
                let checkState = Self.checkState(id, health: health)
                let got = staged.refresh(checkState, liveness: liveness, sequence: sequence, at: now)
                let expected = model.refresh(checkState, liveness: liveness, sequence: sequence, at: now)
                #expect(Self.outcome(got) == Self.outcome(expected), "step \(step): refresh of \(name)")
            case 5, 6:
                let state = StoredCheckState(
                    key: Self.key, checkState: Self.checkState(id, message: "saved at \(step)"), lastSeenAt: now,
                    snapshotSequence: sequence)
                let replaced = staged.set(Staged(state: state, saved: true), for: name)
                #expect(Self.same(replaced, model.set(Staged(state: state, saved: true), for: name)))
            case 7:
                #expect(Self.same(staged.remove(name), model.remove(name)), "step \(step)")
            default:
                #expect(staged.contains(name) == (model.states[name] != nil), "step \(step): \(name)")
            }
            #expect(staged.count == model.states.count, "step \(step)")
            #expect(Self.same(staged[name], model.states[name]), "step \(step): \(name)")
        }
        // Every whole-table answer agrees too.
        for sequence: Int64 in 0..<3 {
            let stale = staged.states(notSeenIn: sequence).sorted { $0.checkStateId < $1.checkStateId }
            let expected = model.states.values.map(\.state).filter { $0.snapshotSequence != sequence }
                .sorted { $0.checkStateId < $1.checkStateId }
            #expect(stale == expected)
        }
        #expect(staged.all.count == model.states.count)
        for entry in staged.all { #expect(Self.same(entry, model.states[entry.state.checkStateId])) }
        // The rows a change writes: the saved check states in the order first saved, as the model's order says.
        for onlyNewContent in [false, true] {
            var rows: [StoredCheckState] = []
            staged.appendRows(to: &rows, onlyNewContent: onlyNewContent)
            let expected = model.savedOrder.compactMap { id -> StoredCheckState? in
                guard let entry = model.states[id], entry.saved, !onlyNewContent || !entry.contentStored else {
                    return nil
                }
                return entry.state
            }
            #expect(rows == expected, "only new content: \(onlyNewContent)")
        }
    }

    @Test func aSnapshotSeenAgainIsOneUniformSaveOfStoredContent() throws {
        let time = Date(timeIntervalSince1970: 1_700_000_000)
        let read = (0..<4).map {
            StoredCheckState(key: Self.key, checkState: Self.checkState($0), lastSeenAt: time, snapshotSequence: 1)
        }
        var staged = WorkingSet.StagedCheckStates(read: read, positions: nil)
        #expect(staged.uniformSave() == nil)
        let later = time.addingTimeInterval(30)
        for id in 0..<3 {
            #expect(
                Self.outcome(staged.refresh(Self.checkState(id), liveness: nil, sequence: 2, at: later))
                    == "refreshed")
        }
        // One check state not seen again: not every one is saved.
        #expect(staged.uniformSave() == nil)
        #expect(
            Self.outcome(staged.refresh(Self.checkState(3, health: .critical), liveness: nil, sequence: 2, at: later))
                == "updated from CLEAR")
        let save = try #require(staged.uniformSave())
        #expect(save.lastSeenAt == later && save.sequence == 2 && save.contentStored == 3)
        // Seen again at the same time in the same snapshot: nothing more to stage.
        #expect(
            Self.outcome(staged.refresh(Self.checkState(0), liveness: nil, sequence: 2, at: later)) == "unchanged"
        )
        var rows: [StoredCheckState] = []
        staged.appendRows(to: &rows, onlyNewContent: true)
        #expect(rows.map(\.checkState.checkStateId) == ["check-3"])
        #expect(rows.first?.checkState.health == .critical)
        rows = []
        staged.appendRows(to: &rows, onlyNewContent: false)
        #expect(rows.map(\.checkState.checkStateId) == ["check-0", "check-1", "check-2", "check-3"])
        #expect(staged.states(notSeenIn: 2).isEmpty)
    }
}

import Foundation
import Testing

@testable import HealthSync

/// The processing rules run on records staged by hand: no store, no clock, no `await`. What they need that is not
/// staged they ask for (``MissingRead``), and the processor's shell makes that read and starts over.
@Suite struct HealthRulesTests {
    let urn = "urn:health:test:rules"
    let rules = HealthRules(configuration: HealthProcessor.Configuration())
    var key: StreamKey { .main(urn) }

    func check(_ id: String, _ health: Health = .clear) -> CheckState {
        CheckState(checkStateId: id, name: "check \(id)", health: health, topologyElementIdentifier: "host-\(id)")
    }

    func snapshot(_ ids: [String], start: Bool = true, stop: Bool = true) -> HealthMessage {
        HealthMessage(
            stream: key,
            startSnapshot: start ? Intervals(repeatInterval: 30, expiryInterval: 120) : nil,
            stopSnapshot: stop,
            checkStates: ids.map { .upsert(check($0)) }
        )
    }

    /// A working set with the stream and its main sub-stream staged as absent: what the shell stages for a new
    /// stream.
    func newStream() -> WorkingSet {
        let work = WorkingSet(sendsRefreshes: false)
        work.stage(stream: nil, urn: urn, errors: [])
        work.stage(subStream: nil, key: key)
        return work
    }

    /// A working set staged with what `change` committed, as a store would read it back.
    func reading(_ change: StoreChange) throws -> WorkingSet {
        let work = try readingRecords(change)
        work.stage(allCheckStates: change.savedCheckStates, of: key)
        return work
    }

    /// A working set staged with the stream and sub-stream `change` committed, not their check states.
    func readingRecords(_ change: StoreChange) throws -> WorkingSet {
        let stream = try #require(change.savedStreams.first)
        let sub = try #require(change.savedSubStreams.first)
        let work = WorkingSet(sendsRefreshes: false)
        work.stage(stream: stream, urn: urn, errors: change.savedErrors)
        work.stage(subStream: sub, key: key)
        return work
    }

    func at(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: seconds) }

    @Test func aSnapshotIsAppliedAndDiffedWithoutAStore() throws {
        let first = newStream()
        try rules.process(snapshot(["a", "b", "c"]), in: first, at: at(100), receivedAt: at(100))
        let created = first.makeChange(clock: at(100), receipt: nil)
        #expect(
            created.events.map(\.kind) == [
                .streamCreated, .subStreamCreated, .snapshotStarted,
                .checkStateCreated, .checkStateCreated, .checkStateCreated, .snapshotCompleted,
            ])
        #expect(created.savedCheckStates.map(\.checkStateId) == ["a", "b", "c"])

        let second = try reading(created)
        try rules.process(snapshot(["a", "c"]), in: second, at: at(130), receivedAt: at(130))
        let diffed = second.makeChange(clock: at(130), receipt: nil)
        let deleted = diffed.events.filter { $0.kind == .checkStateDeleted }
        #expect(deleted.map(\.checkStateId) == ["b"])
        #expect(deleted.first?.deletionReason == .snapshotDiff)
        #expect(diffed.deletedCheckStates.map { $0.checkStateId } == ["b"])
        let sub = try #require(diffed.savedSubStreams.first)
        #expect(sub.lastCompletedAt == at(130))
        #expect(sub.deadlines.lateData == at(160))
    }

    @Test func aRuleAsksForTheStreamWhenNothingIsStaged() {
        let work = WorkingSet(sendsRefreshes: false)
        #expect(throws: MissingRead.self) {
            try rules.process(snapshot(["a"]), in: work, at: at(100), receivedAt: at(100))
        }
        do {
            try rules.process(snapshot(["a"]), in: work, at: at(100), receivedAt: at(100))
        } catch {
            #expect(error.request == .stream(urn: urn))
        }
    }

    @Test func aRuleAsksForEveryCheckStateTheMessageNamesInOneRequest() throws {
        let first = newStream()
        try rules.process(snapshot(["a", "b"]), in: first, at: at(100), receivedAt: at(100))
        let committed = first.makeChange(clock: at(100), receipt: nil)

        // The stream and sub-stream are staged, their check states are not.
        let work = try readingRecords(committed)
        do {
            try rules.process(snapshot(["b", "x"], stop: false), in: work, at: at(130), receivedAt: at(130))
            Issue.record("the rule applied check states it could not see")
        } catch {
            #expect(error.request == .checkStates(key, ids: ["b", "x"]))
        }

        // With those two read (one found, one known missing) the message applies; a stop then needs them all.
        let ready = try readingRecords(committed)
        ready.stage(
            checkStates: committed.savedCheckStates.filter { $0.checkStateId == "b" }, requested: ["b", "x"], of: key)
        try rules.process(snapshot(["b", "x"], stop: false), in: ready, at: at(130), receivedAt: at(130))
        do {
            try rules.process(snapshot([], start: false), in: ready, at: at(131), receivedAt: at(131))
            Issue.record("the snapshot was diffed without every check state")
        } catch {
            #expect(error.request == .allCheckStates(key))
        }
    }

    @Test func dueTimersFireOnStagedRecordsAtTheirDeadlines() throws {
        let first = newStream()
        try rules.process(snapshot(["a"]), in: first, at: at(100), receivedAt: at(100))
        let work = try reading(first.makeChange(clock: at(100), receipt: nil))

        // Late at 130 (repeat 30), then at 160 and 190; expired at 220 (expiry 120 after the message at 100).
        #expect(HealthRules.stagedDue(in: work, before: at(131)) == [key])
        #expect(!HealthRules.firingReadsCheckStates(of: try #require(work.stagedSubStream(key)), before: at(131)))
        let late = try rules.fireTimers(of: [key], in: work, before: at(200))
        #expect(late.timersFired == 1, "one late-data timer for the run of missed deadlines")
        #expect(late.missedPeriods == 3)
        let error = try #require(work.openErrors(of: urn).first)
        #expect(error.code == .subStreamLateData)
        #expect(error.count == 3)
        #expect(error.firstSeenAt == at(130))
        #expect(error.lastSeenAt == at(190))

        #expect(HealthRules.firingReadsCheckStates(of: try #require(work.stagedSubStream(key)), before: at(221)))
        let expired = try rules.fireTimers(of: [key], in: work, before: at(221))
        #expect(expired.counts.deleted == 1)
        #expect(work.stagedSubStream(key) == nil)
        #expect(work.makeChange(clock: nil, receipt: nil).deletedSubStreams.map(\.key) == [key])
    }

    @Test func deletingAStreamRecordsEachCheckStateFromStagedRecords() throws {
        let first = newStream()
        try rules.process(snapshot(["a", "b"]), in: first, at: at(100), receivedAt: at(100))
        let work = try reading(first.makeChange(clock: at(100), receipt: nil))
        #expect(try rules.deleteStream(urn, subStreams: [key], in: work, at: at(110)))
        let change = work.makeChange(clock: at(110), receipt: nil)
        #expect(change.deletedStreams.map(\.urn) == [urn])
        #expect(change.events.map(\.kind) == [.checkStateDeleted, .checkStateDeleted, .streamDeleted])

        let unknown = WorkingSet(sendsRefreshes: false)
        unknown.stage(stream: nil, urn: urn, errors: [])
        #expect(try rules.deleteStream(urn, subStreams: [], in: unknown, at: at(110)) == false)
        #expect(try rules.clearErrors(of: urn, in: unknown, at: at(110)) == nil)
    }

    /// The shell's safety net: a body that runs the rules without planning its reads still gets them right, one
    /// requested read at a time, each on a new working set.
    @Test func theShellMakesAnUnplannedReadAndStartsOver() async throws {
        let store = InMemoryHealthStore()
        let processor = HealthProcessor(store: store)
        try await processor.apply(Envelope(messages: [snapshot(["a", "b", "c"])]), at: at(100))

        var runs = 0
        let change = try await processor.withReads { work in
            runs += 1
            try processor.rules.process(snapshot(["a", "c"]), in: work, at: at(130), receivedAt: at(130))
            return work.makeChange(clock: at(130), receipt: nil)
        }
        #expect(runs > 1, "the first run had nothing staged")
        #expect(change.deletedCheckStates.map { $0.checkStateId } == ["b"])

        // The planned path reads the same records ahead and runs once.
        var plannedRuns = 0
        let planned = try await processor.withReads { work in
            plannedRuns += 1
            try await processor.prepare(snapshot(["a", "c"]), in: work)
            try processor.rules.process(snapshot(["a", "c"]), in: work, at: at(130), receivedAt: at(130))
            return work.makeChange(clock: at(130), receipt: nil)
        }
        #expect(plannedRuns == 1)
        #expect(planned.events == change.events)
        #expect(planned.savedSubStreams == change.savedSubStreams)
    }
}

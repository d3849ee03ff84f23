import Foundation
import HealthSync
import Testing

/// The contract every ``HealthSync/HealthStore`` must meet, as a reusable Swift Testing suite.
///
/// Each check creates its own empty store with `makeStore`, writes through ``HealthSync/HealthStore/commit(_:)``
/// and reads back through the protocol, recording failures with `#expect` and `#require`. Run them all:
///
/// ```swift
/// @Test func conformsToTheHealthStoreContract() async throws {
///     try await HealthStoreConformance { try MyHealthStore.inMemory() }.run()
/// }
/// ```
///
/// or one test case per check and store, which reports each failure by name:
///
/// ```swift
/// @Test(arguments: HealthStoreConformance.checks)
/// func conforms(to check: HealthStoreConformance.Check) async throws {
///     try await check.run(on: HealthStoreConformance { try MyHealthStore.inMemory() })
/// }
/// ```
///
/// Times are whole or binary-fraction offsets from an epoch-seconds origin, as the processor's times are
/// (collection timestamps plus whole-second intervals), so they survive any store that keeps epoch seconds.
public struct HealthStoreConformance: Sendable {
    /// One check of the suite, to parameterise tests over.
    public struct Check: Sendable, CustomStringConvertible, CustomTestStringConvertible {
        /// The name of the check: the name of its method.
        public let name: String
        private let body: @Sendable (HealthStoreConformance) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (HealthStoreConformance) async throws -> Void) {
            self.name = name
            self.body = body
        }

        /// Runs the check on the stores of `suite`.
        /// - Throws: What the store throws, or what a failed `#require` throws.
        public func run(on suite: HealthStoreConformance) async throws {
            try await body(suite)
        }

        /// The name of the check.
        public var description: String { name }

        /// The name of the check, as test reports show it.
        public var testDescription: String { name }
    }

    // A check is a method `func name() async throws` of one of the `HealthStoreConformance+Concern.swift` files,
    // listed here under its name; `ConformanceCheckListTests` fails when one is missing from the list.

    /// Every check, in the order ``run()`` runs them.
    public static let checks: [Check] = [
        Check("insertsAndReadsBackEveryRecordKind") { try await $0.insertsAndReadsBackEveryRecordKind() },
        Check("roundTripsOptionalFields") { try await $0.roundTripsOptionalFields() },
        Check("roundTripsEveryModelValue") { try await $0.roundTripsEveryModelValue() },
        Check("roundTripsLiveness") { try await $0.roundTripsLiveness() },
        Check("rejectsStaleVersionsWithoutWritingAnything") {
            try await $0.rejectsStaleVersionsWithoutWritingAnything()
        },
        Check("insertOfExistingRecordConflicts") { try await $0.insertOfExistingRecordConflicts() },
        Check("appliesChangesInTheDocumentedOrder") { try await $0.appliesChangesInTheDocumentedOrder() },
        Check("refreshesEveryCheckStateOfASubStreamBetweenDeletionsAndSaves") {
            try await $0.refreshesEveryCheckStateOfASubStreamBetweenDeletionsAndSaves()
        },
        Check("refreshesWithSavesAtTheRefreshTime") { try await $0.refreshesWithSavesAtTheRefreshTime() },
        Check("cascadesStreamDeletion") { try await $0.cascadesStreamDeletion() },
        Check("cascadesSubStreamDeletionIncludingItsErrorsButNotStreamLevelOnes") {
            try await $0.cascadesSubStreamDeletionIncludingItsErrorsButNotStreamLevelOnes()
        },
        Check("rejectsDuplicateReceiptAtomically") { try await $0.rejectsDuplicateReceiptAtomically() },
        Check("commitsSeveralReceiptsAtomically") { try await $0.commitsSeveralReceiptsAtomically() },
        Check("prunesReceiptsByPrefixAndClock") { try await $0.prunesReceiptsByPrefixAndClock() },
        Check("keepsTheMaximumClock") { try await $0.keepsTheMaximumClock() },
        Check("ordersQueries") { try await $0.ordersQueries() },
        Check("ordersIdsAsTheirUTF8Bytes") { try await $0.ordersIdsAsTheirUTF8Bytes() },
        Check("filtersEvents") { try await $0.filtersEvents() },
        Check("pagesEventsThroughOneInstant") { try await $0.pagesEventsThroughOneInstant() },
        Check("findsDueSubStreamsStrictlyBeforeTimeEarliestFirstWithLimit") {
            try await $0.findsDueSubStreamsStrictlyBeforeTimeEarliestFirstWithLimit()
        },
        Check("readsCheckStatesByIds") { try await $0.readsCheckStatesByIds() },
        Check("readsTheStreamContextAsTheSeparateReads") { try await $0.readsTheStreamContextAsTheSeparateReads() },
        Check("countsInSummaries") { try await $0.countsInSummaries() },
        Check("prunesEventsButTheLatestStateOfLiveCheckStates") {
            try await $0.prunesEventsButTheLatestStateOfLiveCheckStates()
        },
        Check("writesQueuedCommitsInOrderAndNoneAfterAFailure") {
            try await $0.writesQueuedCommitsInOrderAndNoneAfterAFailure()
        },
        Check("snapshotsShowOneStateWhileCommitsGoOn") { try await $0.snapshotsShowOneStateWhileCommitsGoOn() },
    ]

    /// Makes the new, empty store of a check; the checks of every file call it.
    let makeStore: @Sendable () async throws -> any HealthStoreQueries

    /// Creates the suite.
    ///
    /// The checks read back through ``HealthSync/HealthStoreQueries``, so the store adopts it. The checks of
    /// retention run when the store adopts ``HealthSync/HealthStoreRetention``; the checks of pipelining run on the
    /// store when it adopts ``HealthSync/PipelinedHealthStore``, otherwise on ``HealthSync/UnpipelinedHealthStore``
    /// over it, which is what the processor uses then.
    /// - Parameter makeStore: Returns a new, empty store each time it is called; every check calls it once.
    public init(makeStore: @escaping @Sendable () async throws -> any HealthStoreQueries) {
        self.makeStore = makeStore
    }

    /// Runs every check in ``checks``.
    /// - Throws: What a store throws, or what a failed `#require` throws; `#expect` failures are recorded
    ///   without throwing.
    public func run() async throws {
        for check in Self.checks {
            try await check.run(on: self)
        }
    }
}

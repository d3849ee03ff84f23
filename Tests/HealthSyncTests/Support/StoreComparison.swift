import Foundation
import HealthSync
import Testing

/// Records, with `#expect`, every difference between two stores' check states, streams, clock and deadlines (what
/// the batch and fuzz tests compare between two runs of the same messages; events and errors each compare their own
/// way).
func expectSameStateAndDeadlines(
    _ actual: any HealthStore,
    _ expected: any HealthStore,
    _ context: Comment
) async throws {
    let actual = try #require(actual as? any HealthStoreQueries)
    let expected = try #require(expected as? any HealthStoreQueries)
    #expect(try await actual.allCheckStates() == expected.allCheckStates(), context)
    #expect(try await actual.streams() == expected.streams(), context)
    #expect(try await actual.clock() == expected.clock(), context)
    #expect(try await actual.nextDeadline() == expected.nextDeadline(), context)
    let far = Date(timeIntervalSince1970: 4_000_000_000)
    #expect(
        try await actual.dueSubStreams(before: far, limit: 1_000)
            == expected.dueSubStreams(before: far, limit: 1_000), context)
}

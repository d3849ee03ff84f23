import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// ``ControlledStore`` with nothing held or failed meets the store contract over each kind of store, with its own
/// pipelining (the commit queue of the base store is not used; the wrapper waits for each commit).
@Suite struct ControlledStoreConformanceTests {
    @Test(arguments: StoreKind.inMemoryKinds, HealthStoreConformance.checks)
    func controlledStoreMeetsTheContract(store kind: StoreKind, check: HealthStoreConformance.Check) async throws {
        try await check.run(on: HealthStoreConformance { ControlledStore(try kind.makeStore()) })
    }
}

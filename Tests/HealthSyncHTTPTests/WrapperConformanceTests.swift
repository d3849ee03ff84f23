import HealthSync
import HealthSyncTesting
import Testing

/// The test wrappers meet the store contract too: a test that runs over one checks the code under test, not a
/// wrapper that forwards wrongly.
@Suite struct WrapperConformanceTests {
    @Test(arguments: HealthStoreConformance.checks)
    func faultyStoreWithoutFaultsMeetsTheContract(check: HealthStoreConformance.Check) async throws {
        try await check.run(on: HealthStoreConformance { FaultyStore() })
    }

    @Test(arguments: HealthStoreConformance.checks)
    func openGatedStoreMeetsTheContract(check: HealthStoreConformance.Check) async throws {
        try await check.run(
            on: HealthStoreConformance {
                let store = GatedStore()
                store.open()
                return store
            })
    }
}

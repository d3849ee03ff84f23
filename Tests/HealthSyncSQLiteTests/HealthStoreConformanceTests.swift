import Foundation
import HealthSync
import HealthSyncTestSupport
import HealthSyncTesting
import Testing

/// Every store passes every check of ``HealthStoreConformance``.
@Suite struct HealthStoreConformanceTests {
    @Test(arguments: StoreKind.allCases, HealthStoreConformance.checks)
    func meetsTheContract(store: StoreKind, check: HealthStoreConformance.Check) async throws {
        try await withTemporaryDirectory { directory in
            try await check.run(on: HealthStoreConformance(makeStore: store.factory(in: directory)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func passesTheWholeSuiteInOneRun(store: StoreKind) async throws {
        try await withTemporaryDirectory { directory in
            try await HealthStoreConformance(makeStore: store.factory(in: directory)).run()
        }
    }
}

import HealthSync
import Testing

extension HealthProcessor {
    /// The processor's store as ``HealthStoreQueries``, which every store these tests use adopts.
    var queries: any HealthStoreQueries {
        get throws { try #require(store as? any HealthStoreQueries) }
    }
}

import Foundation
import HTTPTypes
import HealthSync
import HealthSyncHTTP
import HealthSyncTesting
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// One application under test: an in-memory (or given) store, a processor, processor time on a `ManualClock`, and
/// a sweeper that sleeps on a ``TestSleepClock``.
struct Harness {
    static let key = "test-key"
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    let store: any HealthStoreQueries
    let clock: ManualClock
    let sleepClock = TestSleepClock()
    let metrics = HealthSyncMetrics()
    let processor: HealthProcessor
    let api: HealthSyncAPI<TestSleepClock>

    init(
        store: any HealthStoreQueries = InMemoryHealthStore(),
        configuration: HealthSyncHTTPConfiguration = Harness.configuration(),
        at start: Date = Harness.start
    ) throws {
        self.store = store
        clock = ManualClock(start)
        processor = HealthProcessor(store: store, logger: Self.logger)
        api = try HealthSyncAPI(
            processor: processor, configuration: configuration, clock: clock, sleepClock: sleepClock,
            metrics: metrics, logger: Self.logger
        )
    }

    /// The test configuration: one key, no waiting between wake-ups.
    static func configuration(
        apiKeys: [String] = [key],
        insecureNoAuth: Bool = false,
        maximumBodyBytes: Int = 8 << 20,
        strict: Bool = false
    ) -> HealthSyncHTTPConfiguration {
        HealthSyncHTTPConfiguration(
            host: "127.0.0.1", port: 0, apiKeys: apiKeys, insecureNoAuth: insecureNoAuth,
            maximumBodyBytes: maximumBodyBytes, strict: strict,
            sweeper: DeadlineSweeperConfiguration(maximumSleep: .seconds(3600), wakeCoalescing: .zero)
        )
    }

    static var logger: Logger {
        var logger = Logger(label: "healthsync.tests", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        return logger
    }

    /// Runs `test` against the application through Hummingbird's router test framework (services run too).
    func test<Value: Sendable>(
        _ test: @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        try await api.buildApplication().test(.router, test)
    }
}

/// The intake path agents use.
let intakePath = "/stsAgent/intake?api_key=\(Harness.key)"

extension TestClientProtocol {
    /// POSTs `body` as JSON to the intake, with the test key.
    @discardableResult
    func postEnvelope(
        _ body: String,
        path: String = intakePath,
        headers: HTTPFields = [.contentType: "application/json"]
    ) async throws -> TestResponse {
        try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// GETs `uri` with the test key in the header.
    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: [.stsAPIKeyForTests: Harness.key])
    }
}

extension HTTPField.Name {
    // swift-format-ignore: NeverForceUnwrap
    static let stsAPIKeyForTests = HTTPField.Name("sts-api-key")!
}

extension TestResponse {
    /// The body as a JSON object.
    var json: [String: Any] {
        get throws {
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
            return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: body))")
        }
    }

    /// The body as text.
    var text: String { String(buffer: body) }
}

/// The URN as a path segment.
func encoded(_ urn: String) -> String {
    urn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? urn
}

/// `[String: Any]` lookups for tests.
extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int? { self[key] as? Int }
    func string(_ key: String) -> String? { self[key] as? String }
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func objects(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}

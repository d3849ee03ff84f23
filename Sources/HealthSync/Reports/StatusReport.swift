import Foundation

/// One push of a status reporter (Crisp Status, Vigil): a replica of a node says it is alive, with its load.
///
/// The body is `{"replica_id": "...", "interval": 60, "load": {"cpu": 0.42, "ram": 0.31}}` (Crisp) or the same
/// with `replica` instead of `replica_id` (Vigil); the service and node come from the request's path. Decode a body
/// with ``decode(_:protocol:serviceId:nodeId:)`` and turn it into a health message with
/// ``StatusReportTranslation``.
public struct StatusReport: Sendable, Hashable {
    /// The two dialects, which differ in the name of the replica field.
    public enum ReporterProtocol: String, Sendable, Hashable, CaseIterable, Codable {
        /// Crisp Status: `POST /v1/report/{service_id}/{node_id}`, the replica in `replica_id`.
        case crisp
        /// Vigil: `POST /reporter/{service_id}/{node_id}`, the replica in `replica`.
        case vigil

        /// The body key that names the replica.
        public var replicaKey: String { self == .crisp ? "replica_id" : "replica" }
    }

    /// The health a reporter may state itself (Vigil's `health`).
    public enum StatedHealth: String, Sendable, Hashable, CaseIterable, Codable {
        /// `healthy`.
        case healthy
        /// `sick`.
        case sick
        /// `dead`.
        case dead
    }

    /// The longest interval a reporter may promise, in seconds (a day).
    public static let maximumInterval = 86_400

    /// The service, from the path.
    public var serviceId: String
    /// The node, from the path.
    public var nodeId: String
    /// The replica: `replica_id` (Crisp) or `replica` (Vigil).
    public var replicaId: String
    /// The seconds until the next report, 1 to ``maximumInterval``.
    public var interval: Int
    /// `load.cpu`: the load average, ≥ 0 (1.0 is one core busy).
    public var cpu: Double?
    /// `load.ram`: the share of memory used, 0 to 1.
    public var ram: Double?
    /// `health`, when the reporter states one.
    public var health: StatedHealth?

    /// Creates a report.
    public init(
        serviceId: String,
        nodeId: String,
        replicaId: String,
        interval: Int,
        cpu: Double? = nil,
        ram: Double? = nil,
        health: StatedHealth? = nil
    ) {
        self.serviceId = serviceId
        self.nodeId = nodeId
        self.replicaId = replicaId
        self.interval = interval
        self.cpu = cpu
        self.ram = ram
        self.health = health
    }

    /// Decodes a report body.
    ///
    /// `interval`, `load.cpu` and `load.ram` are numbers or strings holding one (Crisp's documentation shows
    /// strings); unknown keys are ignored; JSON `null` is the same as an absent key.
    /// - Throws: ``PayloadError`` with code ``PayloadError/Code/malformedJSON`` for bytes that are not JSON, else
    ///   ``PayloadError/Code/invalidReport`` with the JSON path of the first bad value (`$.interval`,
    ///   `$.load.cpu`) and the reason.
    public static func decode(
        _ body: some Collection<UInt8>,
        protocol reporter: ReporterProtocol,
        serviceId: String,
        nodeId: String
    ) throws(PayloadError) -> StatusReport {
        try checkPathIds(serviceId: serviceId, nodeId: nodeId)
        return try decode(object: try ReportJSON.object(body), protocol: reporter, serviceId: serviceId, nodeId: nodeId)
    }

    /// Decodes the parsed body of a report whose path ids were checked.
    static func decode(
        object: JSONObject,
        protocol reporter: ReporterProtocol,
        serviceId: String,
        nodeId: String
    ) throws(PayloadError) -> StatusReport {
        let replicaPath = "$.\(reporter.replicaKey)"
        guard let replicaValue = ReportJSON.member(object, reporter.replicaKey) else {
            throw ReportJSON.invalid(replicaPath, "is required: a non-empty string naming the replica")
        }
        let replicaId = try ReportJSON.string(replicaValue, at: replicaPath)
        if let problem = EnvelopeRules.textProblem(replicaId, .identifier) {
            throw ReportJSON.invalid(replicaPath, problem, replicaValue)
        }
        guard let intervalValue = ReportJSON.member(object, "interval") else {
            throw ReportJSON.invalid("$.interval", "is required: the seconds until the next report")
        }
        let interval = try ReportJSON.integer(
            intervalValue, at: "$.interval", in: 1...maximumInterval,
            described: "a whole number of seconds from 1 to \(maximumInterval)")
        var report = StatusReport(serviceId: serviceId, nodeId: nodeId, replicaId: replicaId, interval: interval)
        if let load = ReportJSON.member(object, "load") {
            guard case .object(let members) = load else {
                throw ReportJSON.invalid("$.load", "must be an object with cpu and ram", load)
            }
            if let cpu = ReportJSON.member(members, "cpu") {
                report.cpu = try ReportJSON.nonNegative(cpu, at: "$.load.cpu")
            }
            if let ram = ReportJSON.member(members, "ram") {
                report.ram = try ReportJSON.number(ram, at: "$.load.ram", in: 0...1, described: "a number from 0 to 1")
            }
        }
        if let health = ReportJSON.member(object, "health") {
            guard case .string(let text) = health, let stated = StatedHealth(rawValue: text) else {
                throw ReportJSON.invalid("$.health", "must be \"healthy\", \"sick\" or \"dead\"", health)
            }
            report.health = stated
        }
        return report
    }

    /// The most UTF-8 bytes of a service or node id.
    public static let maximumPathIdBytes = 256

    /// Checks the ids of a report's path: a service id of 1 to ``maximumPathIdBytes`` bytes without whitespace or
    /// control characters (it ends a stream URN), a node id of 1 to ``maximumPathIdBytes`` bytes without control
    /// characters.
    /// - Throws: ``PayloadError`` with code ``PayloadError/Code/invalidReport`` and path `service_id` or `node_id`.
    public static func checkPathIds(serviceId: String, nodeId: String) throws(PayloadError) {
        for (name, id, spaces) in [("service_id", serviceId, false), ("node_id", nodeId, true)] {
            let bad = id.unicodeScalars.contains {
                $0.value < 0x20 || $0.value == 0x7F || (!spaces && $0.properties.isWhitespace)
            }
            guard id.isEmpty || id.utf8.count > maximumPathIdBytes || bad else { continue }
            let what = spaces ? "control characters" : "whitespace or control characters"
            throw PayloadError(
                code: .invalidReport, path: name,
                reason: "must be 1 to \(maximumPathIdBytes) bytes without \(what)",
                value: String(id.prefix(60)))
        }
    }
}

/// Turns status reports into health messages for the processor: the thresholds that make a replica sick and the
/// grace that makes a silent one dead.
///
/// A report for service `S`, node `N` and replica `R` becomes a REPEAT_STATES message on stream
/// `urn:health:reporter:S`, sub-stream `N`, with one check state `R` named `replica R of N` about topology element
/// `urn:reporter:S:N:R`, live (``Liveness``) with the report's interval and ``deadGrace``:
///
/// - `CLEAR`: healthy.
/// - `DEVIATING`: sick: `health: sick`, or `load.cpu` above ``cpuSickAbove``, or `load.ram` above ``ramSickAbove``;
///   the message says which ("cpu load 3.50 above 0.99").
/// - `CRITICAL`: dead: `health: dead` ("reported dead"), or no report for the interval plus ``deadGrace`` seconds
///   ("no report for 80 s: interval 60 s + 20 s grace"), which the processor applies at that deadline.
public struct StatusReportTranslation: Sendable, Hashable {
    /// A replica whose `load.cpu` is strictly above this is sick (Vigil's default 0.99).
    public var cpuSickAbove: Double
    /// A replica whose `load.ram` is strictly above this is sick (Vigil's default 0.99).
    public var ramSickAbove: Double
    /// Seconds past the promised interval after which a silent replica is dead (Vigil's `push_delay_dead`, 20).
    public var deadGrace: Int
    /// Seconds of silence after which a replica's check state is removed (a day); at least twice the interval plus
    /// grace of the report.
    public var expiry: Int

    /// Creates a translation; the defaults are Vigil's.
    public init(cpuSickAbove: Double = 0.99, ramSickAbove: Double = 0.99, deadGrace: Int = 20, expiry: Int = 86_400) {
        self.cpuSickAbove = cpuSickAbove
        self.ramSickAbove = ramSickAbove
        self.deadGrace = deadGrace
        self.expiry = expiry
    }

    /// The stream of a service's reports: `urn:health:reporter:{service_id}`.
    public static func urn(ofService serviceId: String) -> String { "urn:health:reporter:\(serviceId)" }

    /// The health and message of a report.
    public func health(of report: StatusReport) -> (health: Health, message: String?) {
        switch report.health {
        case .dead: return (.critical, "reported dead")
        case .sick: return (.deviating, "reported sick")
        case .healthy, nil: break
        }
        var reasons: [String] = []
        if let cpu = report.cpu, cpu > cpuSickAbove {
            reasons.append("cpu load \(ReportJSON.format(cpu, decimals: 2)) above \(Self.threshold(cpuSickAbove))")
        }
        if let ram = report.ram, ram > ramSickAbove {
            reasons.append("ram \(ReportJSON.format(ram, decimals: 2)) above \(Self.threshold(ramSickAbove))")
        }
        return reasons.isEmpty ? (.clear, nil) : (.deviating, reasons.joined(separator: "; "))
    }

    /// The health message of a report.
    public func message(for report: StatusReport) -> HealthMessage {
        let (health, text) = health(of: report)
        let checkState = CheckState(
            checkStateId: report.replicaId,
            name: "replica \(report.replicaId) of \(report.nodeId)",
            health: health,
            topologyElementIdentifier: "urn:reporter:\(report.serviceId):\(report.nodeId):\(report.replicaId)",
            message: text
        )
        return HealthMessage(
            stream: StreamKey(urn: Self.urn(ofService: report.serviceId), subStreamId: report.nodeId),
            consistencyModel: .repeatStates,
            expiry: Intervals(
                repeatInterval: report.interval,
                expiryInterval: max(expiry, 2 * (report.interval + deadGrace))),
            checkStates: [.upsert(checkState)],
            path: "report",
            liveness: Liveness(interval: report.interval, grace: deadGrace)
        )
    }

    /// The envelope of one report, for ``HealthProcessor/apply(_:at:receivedAt:receipt:)``.
    public func envelope(for report: StatusReport) -> Envelope {
        Envelope(messages: [message(for: report)])
    }

    /// A threshold as the messages print it: `0.99`, `1`.
    static func threshold(_ value: Double) -> String {
        ReportJSON.format(value)
    }
}

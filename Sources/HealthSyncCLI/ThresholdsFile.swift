import Foundation
import HealthSync
import Yams

/// `serve --thresholds FILE`: metric thresholds by service, in YAML or JSON (Docs/metrics.md).
///
/// ```yaml
/// API Gateway:
///   error_rate: {degraded: 2, partial_outage: 5}
///   response_time_ms:
///     major_outage: 5000
/// ```
///
/// Each service (matched by its slug, so `API Gateway` and `api-gateway` are one) gives any subset of the
/// thresholded metrics and, for each, any subset of `degraded`, `partial_outage` and `major_outage`: the rest keep
/// their defaults. A threshold is a number ≥ 0, and the levels of a metric, defaults included, must not decrease.
enum ThresholdsFile {
    /// Parses the file at `path`.
    /// - Throws: ``ServeSettingsError`` naming the file and the line of the first problem.
    static func read(_ path: String) throws(ServeSettingsError) -> [String: [Metric: MetricLevels]] {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ServeSettingsError(
                description: "\(path): cannot read the thresholds file: \(error.localizedDescription)")
        }
        return try parse(contents, name: path)
    }

    /// Parses thresholds text; `name` is the file name errors start with.
    static func parse(_ text: String, name: String) throws(ServeSettingsError) -> [String: [Metric: MetricLevels]] {
        func failure(_ line: Int, _ problem: String) -> ServeSettingsError {
            ServeSettingsError(description: "\(name):\(line): \(problem)")
        }
        // JSON is YAML's flow style; a tab can only stand between JSON tokens, where YAML wants a space.
        let yaml = name.lowercased().hasSuffix(".json") ? text.replacingOccurrences(of: "\t", with: " ") : text
        let root: Node?
        do {
            root = try Parser(yaml: yaml).singleRoot()
        } catch let error as YamlError {
            throw failure(Self.line(of: error), "not valid YAML or JSON: \(error)")
        } catch {
            throw failure(1, "not valid YAML or JSON: \(error)")
        }
        guard let root else { return [:] }
        guard let services = root.mapping else {
            throw failure(root.mark?.line ?? 1, "expected a mapping of service names to metric thresholds")
        }
        var result: [String: [Metric: MetricLevels]] = [:]
        var slugs: Set<String> = []
        for (serviceKey, metricsNode) in services {
            let line = serviceKey.mark?.line ?? 1
            guard let service = serviceKey.string, !MetricTranslation.slug(service).isEmpty else {
                throw failure(line, "expected a service name with at least one letter or digit, found \(serviceKey)")
            }
            let slug = MetricTranslation.slug(service)
            if !slugs.insert(slug).inserted {
                throw failure(line, "service \(service) is given twice (as its slug \(slug))")
            }
            guard let metrics = metricsNode.mapping else {
                throw failure(line, "\(service): expected a mapping of metrics to levels")
            }
            var levels: [Metric: MetricLevels] = [:]
            for (metricKey, levelsNode) in metrics {
                let metricLine = metricKey.mark?.line ?? line
                guard let name = metricKey.string, let metric = Metric(rawValue: name),
                    Metric.thresholded.contains(metric)
                else {
                    let known = Metric.thresholded.map(\.rawValue).joined(separator: ", ")
                    throw failure(metricLine, "\(service): expected a metric (\(known)), found \(metricKey)")
                }
                guard let levelMapping = levelsNode.mapping else {
                    throw failure(metricLine, "\(service).\(name): expected a mapping of levels to thresholds")
                }
                var given = MetricLevels()
                for (levelKey, valueNode) in levelMapping {
                    let levelLine = levelKey.mark?.line ?? metricLine
                    let levelPath = "\(service).\(name).\(levelKey.string ?? "?")"
                    guard let scalar = valueNode.scalar, let value = Double.construct(from: scalar), value.isFinite,
                        value >= 0
                    else {
                        let found = valueNode.string ?? "\(valueNode)"
                        throw failure(levelLine, "\(levelPath): expected a number ≥ 0, found \(found)")
                    }
                    switch levelKey.string {
                    case "degraded": given.degraded = value
                    case "partial_outage": given.partialOutage = value
                    case "major_outage": given.majorOutage = value
                    default:
                        throw failure(
                            levelLine,
                            "\(service).\(name): expected degraded, partial_outage or major_outage, "
                                + "found \(levelKey)")
                    }
                }
                levels[metric] = given
                let merged = MetricTranslation(serviceThresholds: [service: levels]).levels(of: metric, for: service)
                let chain = [merged.degraded, merged.partialOutage, merged.majorOutage].compactMap { $0 }
                if zip(chain, chain.dropFirst()).contains(where: { $0 > $1 }) {
                    throw failure(
                        metricLine,
                        "\(service).\(name): the levels must not decrease from degraded to major_outage (with the "
                            + "defaults: \(chain.map { ReportNumber.text($0) }.joined(separator: ", ")))")
                }
            }
            result[service] = levels
        }
        return result
    }

    /// The line of a Yams error.
    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 1
        }
    }
}

/// Numbers as messages print them: `5`, `2.5`.
enum ReportNumber {
    static func text(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

import Foundation
import HealthSync
import Hummingbird

extension HealthSyncAPI {
    static var streamsPath: String { "/api/synchronization/health/streams" }

    /// The health-sync status API under `/api`, with StackState's paths and shapes.
    func addStatusRoutes<Context: RequestContext>(to routes: some RouterMethods<Context>) {
        let streams = Self.streamsPath
        routes.get(RouterPath(streams)) { request, _ in
            try authenticator.authorize(request)
            return try await streamList()
        }
        routes.get(RouterPath("\(streams)/:urn/status")) { request, context in
            try authenticator.authorize(request)
            return try await streamStatus(try Self.urn(context.parameters))
        }
        routes.get(RouterPath("\(streams)/:urn/substreams")) { request, context in
            try authenticator.authorize(request)
            return try await subStreamList(try Self.urn(context.parameters))
        }
        routes.get(RouterPath("\(streams)/:urn/substreams/:subStreamId/status")) { request, context in
            try authenticator.authorize(request)
            let urn = try Self.urn(context.parameters)
            return try await subStreamStatus(urn, try Self.subStreamId(context.parameters, urn: urn))
        }
        routes.post(RouterPath("\(streams)/:urn/clearErrors")) { request, context in
            try authenticator.authorize(request)
            let urn = try Self.urn(context.parameters)
            guard try await storage({ try await processor.clearErrors(of: urn, at: clock.now) }) != nil else {
                throw Self.streamNotFound(urn)
            }
            return Response(status: .noContent)
        }
        routes.delete(RouterPath("\(streams)/:urn")) { request, context in
            try authenticator.authorize(request)
            let urn = try Self.urn(context.parameters)
            guard try await storage({ try await processor.deleteStream(urn, at: clock.now) }) else {
                throw Self.streamNotFound(urn)
            }
            return Response(status: .noContent)
        }
        routes.get("/api/health/checkstates") { request, _ in
            try authenticator.authorize(request)
            return try await checkStates(request.uri.queryParameters)
        }
    }

    // MARK: Handlers

    private func streamList() async throws -> Response {
        let summaries = try await read { try await queries.streams() }
        var items: [StatusDocuments.StreamListItem] = []
        for summary in summaries {
            let hasMain = try await read { try await processor.store.subStream(.main(summary.urn)) != nil }
            items.append(StatusDocuments.StreamListItem(summary, hasMainSubStream: hasMain))
        }
        return try JSONResponse.make(StatusDocuments.StreamList(items: items))
    }

    private func streamStatus(_ urn: String) async throws -> Response {
        let (stream, status) = try await read { () async throws -> (StreamRecord?, StreamStatus?) in
            (try await processor.store.stream(urn), try await processor.store.status(of: urn))
        }
        guard let stream, let status else { throw Self.streamNotFound(urn) }
        return try JSONResponse.make(StatusDocuments.StreamStatus(status, createdAt: stream.createdAt, now: clock.now))
    }

    private func subStreamList(_ urn: String) async throws -> Response {
        guard let status = try await read({ try await processor.store.status(of: urn) }) else {
            throw Self.streamNotFound(urn)
        }
        let items = status.subStreams.filter { !$0.record.key.isMain }.map {
            StatusDocuments.SubStreamListItem($0, model: status.consistencyModel)
        }
        return try JSONResponse.make(StatusDocuments.SubStreamList(subStreams: items))
    }

    private func subStreamStatus(_ urn: String, _ subStreamId: String) async throws -> Response {
        guard let status = try await read({ try await processor.store.status(of: urn) }) else {
            throw Self.streamNotFound(urn)
        }
        guard let subStream = status.subStreams.first(where: { $0.record.key.subStreamId == subStreamId }) else {
            throw HealthSyncHTTPError(
                code: .subStreamNotFound, message: "stream \(urn) has no sub-stream \(subStreamId)", urn: urn,
                subStreamId: subStreamId
            )
        }
        return try JSONResponse.make(
            StatusDocuments.SubStreamStatus(subStream, model: status.consistencyModel, now: clock.now)
        )
    }

    private func checkStates(_ query: Parameters) async throws -> Response {
        let urn = query.get("urn")
        let subStreamId = query.get("subStreamId")
        var healths: Set<Health>?
        let healthValues = query.getAll("health").flatMap { $0.split(separator: ",") }
        if !healthValues.isEmpty {
            healths = []
            for value in healthValues {
                guard let health = Health(wireValue: value.trimmingCharacters(in: .whitespaces)) else {
                    throw HealthSyncHTTPError(
                        code: .invalidQuery, message: "health must be CLEAR, DEVIATING or CRITICAL, not \(value)"
                    )
                }
                healths?.insert(health)
            }
        }
        let limit = try Self.pageLimit(query.get("limit"))
        let position = try query.get("cursor").map { cursor throws(HealthSyncHTTPError) in try Self.position(cursor) }
        let fetchLimit = limit + 1
        let states = try await read {
            try await queries.checkStates(
                urn: urn, subStreamId: subStreamId, healths: healths, after: position, limit: fetchLimit
            )
        }
        let page = Array(states.prefix(limit))
        let next = states.count > limit ? page.last.map { Self.cursor(CheckStatePosition($0)) } : nil
        return try JSONResponse.make(StatusDocuments.CheckStateList(page, nextCursor: next))
    }

    /// The check states one `GET /api/health/checkstates` answers without `limit`.
    static var defaultPageLimit: Int { 1000 }
    /// The most check states one `GET /api/health/checkstates` answers.
    static var maximumPageLimit: Int { 10_000 }

    /// The `limit` query parameter: ``defaultPageLimit`` when absent.
    /// - Throws: ``HealthSyncHTTPError/Code/invalidQuery`` when it is not a whole number from 1 to
    ///   ``maximumPageLimit``.
    static func pageLimit(_ value: String?) throws(HealthSyncHTTPError) -> Int {
        guard let value else { return defaultPageLimit }
        guard let limit = Int(value), (1...maximumPageLimit).contains(limit) else {
            throw HealthSyncHTTPError(
                code: .invalidQuery, message: "limit must be a whole number from 1 to \(maximumPageLimit), not \(value)"
            )
        }
        return limit
    }

    /// The opaque cursor of a page that ends at `position`: base64url of a JSON array `[urn, subStreamId, id]`.
    static func cursor(_ position: CheckStatePosition) -> String {
        let fields = [position.key.urn, position.key.subStreamId, position.checkStateId]
        let data = (try? JSONEncoder().encode(fields)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The position a ``cursor(_:)`` names.
    /// - Throws: ``HealthSyncHTTPError/Code/invalidQuery`` when it is not a cursor this server made.
    static func position(_ cursor: String) throws(HealthSyncHTTPError) -> CheckStatePosition {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard cursor.utf8.count <= 8192, let data = Data(base64Encoded: base64),
            let fields = try? JSONDecoder().decode([String].self, from: data), fields.count == 3
        else {
            throw HealthSyncHTTPError(
                code: .invalidQuery, message: "cursor is not a cursor of this API; pass the nextCursor of an answer"
            )
        }
        return CheckStatePosition(key: StreamKey(urn: fields[0], subStreamId: fields[1]), checkStateId: fields[2])
    }

    // MARK: Helpers

    /// Runs a store operation, mapping ``HealthSync/StorageError`` to 503 or 500.
    func storage<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as StorageError {
            throw HealthSyncHTTPError(error)
        }
    }

    /// Runs a store read, mapping ``HealthSync/StorageError`` to 503 (a store that cannot be read now: an I/O
    /// error, a lock held too long) or 500.
    func read<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as StorageError {
            throw HealthSyncHTTPError(error, reading: true)
        }
    }

    /// The percent-decoded `urn` path parameter.
    /// - Throws: ``HealthSyncHTTPError/Code/invalidURN`` when it does not decode or is not a URN.
    static func urn(_ parameters: Parameters) throws(HealthSyncHTTPError) -> String {
        let raw = parameters.get("urn") ?? ""
        guard let urn = raw.removingPercentEncoding else {
            throw HealthSyncHTTPError(
                code: .invalidURN, message: "the URN \(raw) is not valid percent-encoding", urn: raw
            )
        }
        guard isURN(urn) else {
            throw HealthSyncHTTPError(
                code: .invalidURN,
                message: "\(urn) is not a URN: expected urn:health:sourceId:streamId (\"urn:\" prefix, no spaces, "
                    + "at most 1024 bytes), percent-encoded in the path",
                urn: urn
            )
        }
        return urn
    }

    /// The percent-decoded `subStreamId` path parameter.
    static func subStreamId(_ parameters: Parameters, urn: String) throws(HealthSyncHTTPError) -> String {
        let raw = parameters.get("subStreamId") ?? ""
        guard let id = raw.removingPercentEncoding else {
            throw HealthSyncHTTPError(
                code: .invalidSubStreamId, message: "the sub-stream id \(raw) is not valid percent-encoding", urn: urn,
                subStreamId: raw
            )
        }
        return id
    }

    /// The rule the envelope decoder applies to `stream.urn`.
    static func isURN(_ text: String) -> Bool {
        text.utf8.count > 4 && text.utf8.count <= 1024 && text.lowercased().hasPrefix("urn:")
            && !text.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
    }

    static func streamNotFound(_ urn: String) -> HealthSyncHTTPError {
        HealthSyncHTTPError(code: .streamNotFound, message: "no stream \(urn)", urn: urn)
    }
}

import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Counts the open connections of one server against ``HealthSyncHTTPConfiguration/maximumConnections``.
final class ConnectionCounter: Sendable {
    private let open = Mutex(0)
    /// The most connections open at once.
    let maximum: Int

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// Takes a place; `false` (and nothing taken) when all are taken.
    func admit() -> Bool {
        open.withLock { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    /// Gives a place back.
    func release() {
        open.withLock { $0 -= 1 }
    }

    /// The connections open now.
    var count: Int { open.withLock { $0 } }
}

/// Guards one connection against clients that hold it without finishing requests, and against too many
/// connections: it sits in the pipeline after the HTTP decoder and sees the request and response parts.
///
/// - Idle: with no request in progress, the connection is closed when no byte arrives for
///   ``HealthSyncHTTPConfiguration/idleTimeout`` (counted from the accept or from the end of the last answer).
/// - Head: from the first byte of a request, its head must be complete within
///   ``HealthSyncHTTPConfiguration/headerTimeout`` (a slowloris sending one header byte at a time).
/// - Body: from the end of the head, the body must be complete within ``HealthSyncHTTPConfiguration/bodyTimeout``
///   (a half-sent body, a trickle, a chunk size of 2^64).
/// - Cap: a connection beyond ``HealthSyncHTTPConfiguration/maximumConnections`` is answered 503 and closed at once.
/// - Early answers: an answer written before its request's body was read (a 401, 413 or 415 refusal, a 400 for a
///   broken body) carries `connection: close`; once it is sent, the connection's output is closed and whatever the
///   client still sends is read and dropped until the request's end, the client's close or
///   ``HealthSyncHTTPConfiguration/bodyTimeout`` (a lingering close), then the connection is closed: a client that
///   writes its whole body before reading gets the answer and the end of the connection.
///
/// While a request is being answered no timer runs: the handler's own work is not a client's delay.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What the connection is waiting for.
    enum Phase: Equatable {
        /// No request in progress and no byte of the next one yet.
        case idle
        /// Bytes of a request head arrived, the head is not complete.
        case readingHead
        /// The head arrived, the body is not complete.
        case readingBody
        /// The request arrived; the answer is not sent yet.
        case answering
        /// An early answer was sent and the output closed; input is read and dropped until the client closes.
        case lingering
        /// Refused over the connection cap.
        case refused
    }

    /// Why a connection was closed by this handler (logged).
    enum Closure: String {
        case idleTimeout = "idle timeout"
        case headerTimeout = "header timeout"
        case bodyTimeout = "body timeout"
        case lingerTimeout = "linger timeout"
    }

    private let configuration: HealthSyncHTTPConfiguration
    private let counter: ConnectionCounter
    private let logger: Logger
    private(set) var phase = Phase.idle
    private var admitted = false
    private var activated = false
    private var earlyAnswer = false
    /// The decoder failed (broken framing): nothing more can be read from this connection.
    private var inputBroken = false
    private var headsReceived = 0
    private var endsReceived = 0
    private var answersSent = 0
    private var timer: Scheduled<Void>?

    init(configuration: HealthSyncHTTPConfiguration, counter: ConnectionCounter, logger: Logger) {
        self.configuration = configuration
        self.counter = counter
        self.logger = logger
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { activate(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        releasePlace()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        releasePlace()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        guard counter.admit() else {
            refuse(context)
            return
        }
        admitted = true
        enter(.idle, context)
    }

    private func releasePlace() {
        guard admitted else { return }
        admitted = false
        counter.release()
    }

    /// Answers 503 without reading the request, and closes.
    private func refuse(_ context: ChannelHandlerContext) {
        phase = .refused
        logger.notice(
            "refusing a connection: the connection cap is reached",
            metadata: ["connections.maximum": "\(counter.maximum)"]
        )
        let head = HTTPResponse(
            status: .serviceUnavailable,
            headerFields: [.connection: "close", .contentLength: "0", .retryAfter: "1"]
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (phase, unwrapInboundIn(data)) {
        case (.lingering, .end):
            // The refused request's body was read whole: nothing more is expected.
            context.close(promise: nil)
            return
        case (.lingering, _), (.refused, _):
            return  // dropped
        default:
            break
        }
        switch unwrapInboundIn(data) {
        case .head:
            headsReceived += 1
            if phase != .readingBody { enter(.readingBody, context) }
        case .body:
            break
        case .end:
            endsReceived += 1
            if phase == .readingBody, endsReceived == headsReceived { enter(.answering, context) }
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inputBroken = true
        if phase == .lingering { context.close(promise: nil) }
        context.fireErrorCaught(error)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Bytes arrived: when nothing was in progress, they are the start of a request head.
        if phase == .idle { enter(.readingHead, context) }
        context.fireChannelReadComplete()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            // The request answered is the oldest in progress (pipelining); early when its end did not arrive.
            earlyAnswer = endsReceived <= answersSent
            if earlyAnswer {
                // Answered before the body was read: say so, and close once the answer is sent.
                earlyAnswer = true
                head.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(head)), promise: promise)
            } else {
                context.write(data, promise: promise)
            }
        case .body:
            context.write(data, promise: promise)
        case .end:
            answersSent += 1
            if earlyAnswer {
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.cascade(to: promise)
                context.writeAndFlush(data, promise: written)
                let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in
                    let (handler, context) = loopBound.value
                    handler.linger(context)
                }
            } else {
                context.write(data, promise: promise)
                if answersSent >= headsReceived, phase == .answering { enter(.idle, context) }
            }
        }
    }

    /// Closes the output after an early answer and drops input until the client closes, or the body timeout.
    private func linger(_ context: ChannelHandlerContext) {
        guard phase != .lingering else { return }
        guard !inputBroken else {
            // Broken framing: the request's end will never be read; the answer is out, so close now.
            context.close(promise: nil)
            return
        }
        enter(.lingering, context)
        context.close(mode: .output, promise: nil)
    }

    // MARK: Timers

    private func enter(_ next: Phase, _ context: ChannelHandlerContext) {
        phase = next
        cancelTimer()
        let timeout: (Duration, Closure)?
        switch next {
        case .idle: timeout = (configuration.idleTimeout, .idleTimeout)
        case .readingHead: timeout = (configuration.headerTimeout, .headerTimeout)
        case .readingBody: timeout = (configuration.bodyTimeout, .bodyTimeout)
        case .lingering: timeout = (configuration.bodyTimeout, .lingerTimeout)
        case .answering, .refused: timeout = nil
        }
        guard let timeout else { return }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: TimeAmount(timeout.0)) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.timedOut(timeout.1, context)
        }
    }

    private func timedOut(_ closure: Closure, _ context: ChannelHandlerContext) {
        let level: Logger.Level = closure == .idleTimeout || closure == .lingerTimeout ? .debug : .info
        logger.log(level: level, "closing a connection: \(closure.rawValue)")
        context.close(promise: nil)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension ConnectionGuardHandler: Sendable {}

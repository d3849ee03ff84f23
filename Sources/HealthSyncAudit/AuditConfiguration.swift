import Foundation

/// The settings of an audit (`Docs/audit.md` defines what each one changes).
public struct AuditConfiguration: Sendable, Hashable, Codable {
    /// Extra time a source gets past its repeat interval before a late window opens; use the processor's
    /// `lateGrace` (SPEC §3, default 0).
    public var lateGrace: TimeInterval
    /// The flap detection thresholds.
    public var flapDetection: FlapDetection
    /// A check state deleted by a snapshot diff or an automatic stop that comes back in one of this many following
    /// snapshots is a *suspicious deletion*.
    public var suspiciousWithinSnapshots: Int

    /// Creates a configuration; `precondition`: `lateGrace ≥ 0`, `suspiciousWithinSnapshots ≥ 1`.
    public init(
        lateGrace: TimeInterval = 0,
        flapDetection: FlapDetection = FlapDetection(),
        suspiciousWithinSnapshots: Int = 3
    ) {
        precondition(lateGrace >= 0 && lateGrace.isFinite, "lateGrace must be a non-negative number of seconds")
        precondition(suspiciousWithinSnapshots >= 1, "suspiciousWithinSnapshots must be at least 1")
        self.lateGrace = lateGrace
        self.flapDetection = flapDetection
        self.suspiciousWithinSnapshots = suspiciousWithinSnapshots
    }
}

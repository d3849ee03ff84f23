import Metrics

/// The processor's swift-metrics counters. Without a bootstrapped metrics backend they cost nothing.
struct ProcessorMetrics: Sendable {
    let envelopesApplied = Counter(label: "healthsync_envelopes_applied_total")
    let messagesRejected = Counter(label: "healthsync_messages_rejected_total")
    let created = Counter(label: "healthsync_check_states_created_total")
    let updated = Counter(label: "healthsync_check_states_updated_total")
    let deleted = Counter(label: "healthsync_check_states_deleted_total")
    let errorsOpened = Counter(label: "healthsync_errors_opened_total")
    let timersFired = Counter(label: "healthsync_timers_fired_total")

    func record(_ result: IntakeResult) {
        envelopesApplied.increment()
        if result.messagesRejected > 0 { messagesRejected.increment(by: result.messagesRejected) }
        record(result.counts)
    }

    func record(_ result: SweepResult) {
        if result.timersFired > 0 { timersFired.increment(by: result.timersFired) }
        record(result.counts)
    }

    private func record(_ counts: ChangeCounts) {
        if counts.created > 0 { created.increment(by: counts.created) }
        if counts.updated > 0 { updated.increment(by: counts.updated) }
        if counts.deleted > 0 { deleted.increment(by: counts.deleted) }
        if counts.errorsOpened > 0 { errorsOpened.increment(by: counts.errorsOpened) }
    }
}

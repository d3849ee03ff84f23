import Foundation

/// The ticks and labels of a timeline's time axis: at most nine ticks at round times (seconds to hours, days,
/// calendar months or years, in UTC), labelled as much as tells them apart: the time of day within a day, the day
/// when the period spans days, the year when it crosses one, the month or the year alone for long periods.
struct TimeScale {
    /// What the ticks step by.
    enum Step: Hashable {
        case seconds(Double)
        case months(Int)
        case years(Int)
    }

    /// The most ticks an axis gets.
    static let maximumTicks = 9

    let period: AuditReport.Period
    let step: Step
    let ticks: [Date]

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    init(period: AuditReport.Period) {
        self.period = period
        let fixed: [Double] = [
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
            172_800, 345_600, 604_800, 1_209_600,
        ]
        guard period.length > 0 else {
            step = .seconds(1)
            ticks = [period.from]
            return
        }
        for seconds in fixed {
            var tick = (period.from.timeIntervalSince1970 / seconds).rounded(.up) * seconds
            var ticks: [Date] = []
            while tick <= period.to.timeIntervalSince1970, ticks.count <= Self.maximumTicks {
                ticks.append(Date(timeIntervalSince1970: tick))
                tick += seconds
            }
            if ticks.count <= Self.maximumTicks {
                step = .seconds(seconds)
                self.ticks = ticks
                return
            }
        }
        let months = period.length / 2_629_746
        let candidates: [Step] =
            [1, 2, 3, 6].map { .months($0) }
            + [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000].map { .years($0) }
        let chosen =
            candidates.first { candidate in
                switch candidate {
                case .months(let count): months / Double(count) + 1 <= Double(Self.maximumTicks)
                case .years(let count): months / 12 / Double(count) + 1 <= Double(Self.maximumTicks)
                case .seconds: false
                }
            } ?? .years(10_000)
        step = chosen
        ticks = Self.calendarTicks(from: period.from, to: period.to, step: chosen)
    }

    /// Ticks at the first of every `step` months (counted from January) or years (counted from year 0) in the period.
    private static func calendarTicks(from: Date, to: Date, step: Step) -> [Date] {
        let start = calendar.dateComponents([.year, .month], from: from)
        var year = start.year ?? 1970
        var month = start.month ?? 1
        let (months, years): (Int, Int) =
            switch step {
            case .months(let count): (count, 0)
            case .years(let count): (0, count)
            case .seconds: (1, 0)
            }
        // Round the first tick up to the step.
        if years > 0 {
            month = 1
            year = (year + years - 1) / years * years
        } else {
            month = ((month - 1 + months - 1) / months) * months + 1
            if month > 12 {
                month -= 12
                year += 1
            }
        }
        var ticks: [Date] = []
        while ticks.count <= maximumTicks * 2,
            let date = calendar.date(from: DateComponents(year: year, month: month, day: 1)), date <= to
        {
            if date >= from { ticks.append(date) }
            if years > 0 {
                year += years
            } else {
                month += months
                while month > 12 {
                    month -= 12
                    year += 1
                }
            }
        }
        return ticks
    }

    /// Whether the period starts and ends in different years.
    var crossesYear: Bool {
        Self.calendar.component(.year, from: period.from) != Self.calendar.component(.year, from: period.to)
    }

    /// A tick's label: only what tells the ticks apart, and the year whenever the period crosses one.
    func label(_ date: Date) -> String {
        let text = AuditFormat.time(date)
        // 2023-11-18T09:36:40Z
        let characters = Array(text)
        guard characters.count >= 19 else { return text }
        func part(_ range: Range<Int>) -> String { String(characters[range]) }
        switch step {
        case .years: return part(0..<4)
        case .months: return part(0..<7)
        case .seconds(let seconds):
            let day = crossesYear ? part(0..<10) : part(5..<10)
            if seconds >= 86_400 { return day }
            let time = part(11..<(period.length < 600 ? 19 : 16))
            return period.length > 86_400 * 1.5 || crossesYear ? "\(day) \(time)" : time
        }
    }
}

extension StreamAudit {
    /// The stretch of `period` in which the stream has its events (check-state changes, late windows, stops,
    /// expiries, errors), with a margin of a twentieth on each side; `period` itself when that stretch covers more
    /// than half of it (or the stream has no event).
    func activeRange(in period: AuditReport.Period) -> AuditReport.Period {
        var first = Date.distantFuture
        var last = Date.distantPast
        func note(_ date: Date?) {
            guard let date, date >= period.from, date <= period.to else { return }
            first = min(first, date)
            last = max(last, date)
        }
        for sub in subStreams {
            for state in sub.checkStates {
                for segment in state.segments {
                    note(segment.from)
                    // A check state that lasts to the end of the period has no event there.
                    if segment.to < period.to { note(segment.to) }
                }
            }
            for window in sub.lateWindows {
                note(window.from)
                if !window.open { note(window.to) }
            }
            sub.missingStops.forEach { note($0.at) }
            sub.expiries.forEach { note($0.at) }
            sub.suspiciousDeletions.forEach { note($0.deletedAt) }
            for error in sub.errors {
                for episode in error.episodes {
                    note(episode.from)
                    note(episode.to)
                }
            }
        }
        guard first <= last else { return period }
        let margin = max(60, last.timeIntervalSince(first) / 20)
        let range = AuditReport.Period(
            from: max(period.from, first.addingTimeInterval(-margin)),
            to: min(period.to, last.addingTimeInterval(margin)))
        return range.length * 2 < period.length ? range : period
    }
}

import Foundation
import HealthSync
import HealthSyncHTML

extension HTMLReportRenderer {
    /// The SVG timeline of one sub-stream: a time axis; for many check states a stacked chart of how many were in
    /// each health; a band per check state coloured by health; late windows shaded over everything, expiries and
    /// missing stops as vertical lines, flapping hatched, suspicious deletions as triangles.
    struct Timeline {
        let sub: SubStreamAudit
        let period: AuditReport.Period
        let bandLimit: Int

        static let width = 1200.0
        static let labelWidth = 230.0
        static let rightMargin = 12.0
        static var plotWidth: Double { width - labelWidth - rightMargin }

        static func cssClass(_ health: Health) -> String {
            switch health {
            case .clear: "c"
            case .deviating: "d"
            case .critical: "x"
            }
        }

        /// The x coordinate of a time.
        func x(_ date: Date) -> Double {
            guard period.length > 0 else { return Self.labelWidth }
            let fraction = min(1, max(0, date.timeIntervalSince(period.from) / period.length))
            return Self.labelWidth + fraction * Self.plotWidth
        }

        func svg() -> HTMLText {
            let states = sub.checkStates
            let individual: [CheckStateAudit]
            let aggregated: [CheckStateAudit]
            if states.count <= 60 {
                individual = states
                aggregated = []
            } else {
                let notable = states.filter(\.isNotable).sorted {
                    (TextReportRenderer.interest($0), $1.checkStateId) > (
                        TextReportRenderer.interest($1), $0.checkStateId
                    )
                }
                individual = Array(notable.prefix(bandLimit))
                let shown = Set(individual.map(\.checkStateId))
                aggregated = states.filter { !shown.contains($0.checkStateId) }
            }
            let labelled = individual.count <= 60
            let band = labelled ? 14.0 : 5.0
            let gap = labelled ? 3.0 : 1.0
            let axisHeight = 26.0
            let chartHeight = states.count > 60 ? 90.0 : 0
            let aggregateHeight = aggregated.isEmpty ? 0 : 18.0
            var y = axisHeight
            var body: HTMLText = ""

            if chartHeight > 0 {
                body += distribution(top: y, height: chartHeight - 12)
                y += chartHeight
            }
            let bandsTop = y
            for (index, state) in individual.enumerated() {
                body += bandRow(state, top: y, height: band, label: labelled, unlabelledIndex: index)
                y += band + gap
            }
            if !aggregated.isEmpty {
                y += 2
                body += aggregateRow(aggregated, top: y, height: aggregateHeight - 4)
                y += aggregateHeight
            }
            if states.isEmpty {
                body += "<text x=\"\(fmt(Self.labelWidth + 6))\" y=\"\(fmt(y + 14))\" class=\"axis\">"
                body += "no check states in the period</text>"
                y += 22
            }
            let height = y + 6
            var svg: HTMLText = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
            svg += "viewBox=\"0 0 \(fmt(Self.width)) "
            svg += "\(fmt(height))\" role=\"img\" aria-label=\"timeline of sub-stream \(sub.displayName)\">"
            svg += "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
            svg += "patternTransform=\"rotate(45)\"><rect width=\"2.5\" height=\"6\" fill=\"#1d2330\" "
            svg += "fill-opacity=\".55\"/></pattern></defs>"
            svg += overlays(top: axisHeight - 6, bottom: height - 4)
            svg += axis(height: height)
            if !labelled && !individual.isEmpty {
                svg += "<text x=\"4\" y=\"\(fmt(bandsTop + 10))\">\(individual.count) notable check states</text>"
                svg += "<text x=\"4\" y=\"\(fmt(bandsTop + 24))\" class=\"axis\">(hover for names)</text>"
            }
            svg += body
            svg += markers(top: axisHeight - 6, bottom: height - 4)
            svg += "</svg>\n"
            return svg
        }

        /// Ticks and labels along the top, with grid lines down the plot.
        func axis(height: Double) -> HTMLText {
            var svg: HTMLText = "<text x=\"4\" y=\"14\" class=\"axis\">UTC</text>"
            let scale = TimeScale(period: period)
            for tick in scale.ticks {
                let position = x(tick)
                svg += "<line class=\"grid\" x1=\"\(fmt(position))\" y1=\"18\" x2=\"\(fmt(position))\" "
                svg += "y2=\"\(fmt(height - 4))\"/>"
                let label = scale.label(tick)
                let anchor = position > Self.width - 60 ? "end" : position < Self.labelWidth + 30 ? "start" : "middle"
                svg += "<text x=\"\(fmt(position))\" y=\"14\" text-anchor=\"\(anchor)\" class=\"axis\">\(label)</text>"
            }
            return svg
        }

        /// Late windows shaded across the whole height, with a bar on the axis.
        func overlays(top: Double, bottom: Double) -> HTMLText {
            var svg: HTMLText = ""
            for window in sub.lateWindows {
                let from = x(window.from)
                let width = max(3, x(window.to) - from)
                svg += "<g><title>late \(AuditFormat.duration(window.length)) from \(AuditFormat.time(window.from))"
                svg += "</title><rect class=\"late\" x=\"\(fmt(from))\" y=\"\(fmt(top))\" width=\"\(fmt(width))\" "
                svg += "height=\"\(fmt(bottom - top))\"/><rect class=\"lateb\" x=\"\(fmt(from))\" y=\"\(fmt(top))\" "
                svg += "width=\"\(fmt(width))\" height=\"4\"/></g>"
            }
            return svg
        }

        /// Expiries and missing stops as vertical lines on top of the bands.
        func markers(top: Double, bottom: Double) -> HTMLText {
            var svg: HTMLText = ""
            for expiry in sub.expiries {
                let position = fmt(x(expiry.at))
                let what = expiry.kind == .subStream ? "sub-stream expired" : "check states expired"
                svg += "<g><title>\(what) at \(AuditFormat.time(expiry.at)): "
                svg += "\(AuditFormat.list(expiry.checkStateIds, limit: 10))</title><line class=\"exp\" "
                svg += "x1=\"\(position)\" y1=\"\(fmt(top))\" x2=\"\(position)\" y2=\"\(fmt(bottom))\"/></g>"
            }
            for stop in sub.missingStops {
                let position = fmt(x(stop.at))
                svg += "<g><title>missing stop: snapshot stopped automatically at \(AuditFormat.time(stop.at)), "
                svg += "deleting \(AuditFormat.list(stop.deletedCheckStateIds, limit: 10))</title>"
                svg += "<line class=\"stop\" x1=\"\(position)\" y1=\"\(fmt(top))\" x2=\"\(position)\" "
                svg += "y2=\"\(fmt(bottom))\"/></g>"
            }
            return svg
        }

        /// One check state: its label, the background of the period, its segments, flapping and suspicious
        /// deletions.
        func bandRow(
            _ state: CheckStateAudit, top: Double, height: Double, label: Bool, unlabelledIndex: Int
        )
            -> HTMLText
        {
            var svg: HTMLText = "<g><title>\(state.checkStateId) — \(state.name): "
            svg += "\(state.transitions) transitions"
            if let flap = state.flap { svg += ", flap score \(AuditFormat.percent(flap.score))" }
            if state.suspiciousDeletions > 0 { svg += ", \(state.suspiciousDeletions) suspicious deletions" }
            svg += "</title>"
            if label {
                var text = state.checkStateId
                if text.count > 30 { text = String(text.prefix(29)) + "…" }
                svg += "<text x=\"4\" y=\"\(fmt(top + height - 3))\">\(text)</text>"
            }
            svg += "<rect class=\"row\" x=\"\(fmt(Self.labelWidth))\" y=\"\(fmt(top))\" "
            svg += "width=\"\(fmt(Self.plotWidth))\" height=\"\(fmt(height))\"/>"
            for segment in state.segments {
                let from = x(segment.from)
                let width = max(0.6, x(segment.to) - from)
                svg += "<rect class=\"\(Self.cssClass(segment.health))\" x=\"\(fmt(from))\" y=\"\(fmt(top))\" "
                svg += "width=\"\(fmt(width))\" height=\"\(fmt(height))\"/>"
            }
            for flapping in state.flappingPeriods {
                let from = x(flapping.from)
                let width = max(1, x(flapping.to ?? period.to) - from)
                svg += "<rect class=\"flap\" x=\"\(fmt(from))\" y=\"\(fmt(top))\" width=\"\(fmt(width))\" "
                svg += "height=\"\(fmt(height))\"/>"
            }
            for deletion in sub.suspiciousDeletions where deletion.checkStateId == state.checkStateId {
                let position = x(deletion.deletedAt)
                let size = max(4, height * 0.6)
                svg += "<path class=\"sus\" d=\"M\(fmt(position - size / 2)) \(fmt(top))h\(fmt(size))"
                svg += "l\(fmt(-size / 2)) \(fmt(size))z\"/>"
            }
            return svg + "</g>"
        }

        /// One band standing for many check states that need no look.
        func aggregateRow(_ states: [CheckStateAudit], top: Double, height: Double) -> HTMLText {
            let clear = states.allSatisfy { !$0.isNotable }
            let text =
                clear
                ? "\(states.count) more, CLEAR throughout" : "\(states.count) more (see the table)"
            var svg: HTMLText = "<g><title>\(text)</title><text x=\"4\" y=\"\(fmt(top + height - 3))\">\(text)</text>"
            svg += "<rect class=\"\(clear ? "c" : "row")\" x=\"\(fmt(Self.labelWidth))\" y=\"\(fmt(top))\" "
            svg += "width=\"\(fmt(Self.plotWidth))\" height=\"\(fmt(height))\" fill-opacity=\".55\"/></g>"
            return svg
        }

        /// How many check states were DEVIATING and CRITICAL over time, stacked (DEVIATING below), scaled to the
        /// peak, over a pale green background standing for the ones that were CLEAR.
        func distribution(top: Double, height: Double) -> HTMLText {
            var changes: [(time: Date, health: Health, delta: Int)] = []
            for state in sub.checkStates {
                for segment in state.segments where segment.health != .clear {
                    changes.append((segment.from, segment.health, 1))
                    changes.append((segment.to, segment.health, -1))
                }
            }
            changes.sort { $0.time < $1.time }
            var deviating = 0
            var critical = 0
            // One point per half pixel at most: the counts at its end.
            var points: [(x: Double, deviating: Int, critical: Int)] = [(x(period.from), 0, 0)]
            var index = 0
            var peak = 0
            while index < changes.count {
                let time = changes[index].time
                while index < changes.count && changes[index].time == time {
                    if changes[index].health == .deviating {
                        deviating += changes[index].delta
                    } else {
                        critical += changes[index].delta
                    }
                    index += 1
                }
                peak = max(peak, deviating + critical)
                let position = (x(time) * 2).rounded() / 2
                if let last = points.last, last.x == position {
                    points[points.count - 1] = (position, deviating, critical)
                } else {
                    points.append((position, deviating, critical))
                }
            }
            let scale = height / Double(max(1, peak))
            let bottom = top + height
            var svg: HTMLText = "<text x=\"4\" y=\"\(fmt(top + 12))\">not CLEAR over time</text>"
            svg += "<text x=\"4\" y=\"\(fmt(top + 26))\" class=\"axis\">peak \(peak) of \(sub.checkStates.count)</text>"
            svg += "<rect class=\"calm\" x=\"\(fmt(Self.labelWidth))\" y=\"\(fmt(top))\" "
            svg += "width=\"\(fmt(Self.plotWidth))\" height=\"\(fmt(height))\"/>"
            // CRITICAL stacked on DEVIATING: the CRITICAL polygon reaches the sum, the DEVIATING one is drawn over it.
            for (health, includesCritical) in [(Health.critical, true), (Health.deviating, false)] {
                var path = "M\(fmt(Self.labelWidth)) \(fmt(bottom))"
                for (offset, point) in points.enumerated() {
                    let value = point.deviating + (includesCritical ? point.critical : 0)
                    if offset > 0 { path += "H\(fmt(point.x))" }
                    path += "V\(fmt(bottom - Double(value) * scale))"
                }
                path += "H\(fmt(x(period.to)))V\(fmt(bottom))z"
                svg += "<path class=\"\(Self.cssClass(health))\" d=\"\(path)\"/>"
            }
            return svg
        }

        /// A coordinate with at most one decimal.
        func fmt(_ value: Double) -> String {
            let rounded = (value * 10).rounded() / 10
            if rounded == rounded.rounded() { return String(Int(rounded)) }
            return String(rounded)
        }
    }
}

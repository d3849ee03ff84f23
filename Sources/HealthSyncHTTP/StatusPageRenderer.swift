import Foundation
import HealthSync
import HealthSyncHTML

/// Renders a ``StatusPage`` as one HTML document (inline CSS, a few lines of script that only improve it) and a
/// stream's worst health as an SVG badge. Every value from a source or a store goes through ``HealthSyncHTML/HTMLText``
/// interpolation, which escapes it.
enum StatusPageRenderer {
    /// The most CLEAR check states a sub-stream lists on the HTML page; the others are counted (every check state that
    /// is not CLEAR is listed, and `GET /status.json` lists them all).
    static let maximumClearCheckStatesShown = 50

    /// The HTML page; its script carries `scriptNonce`, which the response's content security policy names.
    static func html(_ page: StatusPage, now: Date, refreshSeconds: Int, scriptNonce: String) -> String {
        var builder = HTMLBuilder()
        builder.append(
            """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>\(page.title) — \(overallWords(page.status))</title>
            <noscript><meta http-equiv="refresh" content="\(refreshSeconds)"></noscript>
            <style>\(raw: styleSheet)</style>
            </head>
            <body>
            <header id="summary">
            """
        )
        builder.append(summary(page, now: now))
        builder.append("</header>\n<main id=\"content\">\n")
        builder.append(content(page, now: now))
        builder.append("</main>\n<script nonce=\"\(scriptNonce)\">\(raw: script)</script>\n</body>\n</html>\n")
        return builder.document
    }

    private static func summary(_ page: StatusPage, now: Date) -> HTMLText {
        var html: HTMLText = "<h1>\(page.title)</h1>\n"
        html +=
            "<p class=\"overall \(page.status.rawValue)\" id=\"overall\" data-status=\"\(page.status.rawValue)\">"
            + "<span aria-hidden=\"true\">\(overallSymbol(page.status))</span> \(overallWords(page.status))</p>\n"
        html += "<ul class=\"counts\" aria-label=\"check states per health\">"
        for health in [Health.critical, .deviating, .clear] {
            html += "<li>\(badge(health)) <strong>\(count(page.counts, health))</strong></li>"
        }
        html += "</ul>\n"
        html +=
            "<p class=\"updated\">Last updated <time id=\"updated\" datetime=\"\(iso(now))\">\(clockText(now))</time>"
            + " · \(page.streams.count) \(plural(page.streams.count, "stream"))</p>\n"
        return html
    }

    private static func content(_ page: StatusPage, now: Date) -> HTMLText {
        var html: HTMLText = ""
        html += "<section aria-labelledby=\"problems-title\" id=\"problems\">\n"
        html += "<h2 id=\"problems-title\">Late and dead sources, open errors</h2>\n"
        if page.problems.isEmpty {
            html += "<p class=\"none\">None.</p>\n"
        } else {
            html += "<ul class=\"problems\">\n"
            for problem in page.problems {
                html +=
                    "<li class=\"problem \(problem.kind)\"><strong>\(problemWords(problem.kind))</strong> "
                    + "<code>\(problem.urn)</code>\(subStreamText(problem.subStreamId)): \(problem.errorCode) "
                    + "(\(problem.level)) — \(problem.message) <span class=\"since\">since "
                    + "\(timeElement(problem.since)), \(durationText(now.timeIntervalSince1970 - problem.since))"
                    + "\(problem.count > 1 ? " · \(problem.count) times" as String : "")</span></li>\n"
            }
            html += "</ul>\n"
        }
        html += "</section>\n"

        html += "<section aria-labelledby=\"streams-title\" id=\"streams\">\n<h2 id=\"streams-title\">Streams</h2>\n"
        if page.streams.isEmpty {
            html += "<p class=\"none\">No streams.</p>\n"
        }
        for stream in page.streams {
            html += streamSection(stream, now: now)
        }
        html += "</section>\n"

        html +=
            "<section aria-labelledby=\"changes-title\" id=\"changes\">\n<h2 id=\"changes-title\">Last changes</h2>\n"
        if page.changes.isEmpty {
            html += "<p class=\"none\">No changes in the event record’s window.</p>\n"
        } else {
            html += "<ol class=\"changes\">\n"
            for change in page.changes {
                var what = HTMLText(text: change.kind)
                if let name = change.name {
                    what = "\(name) (<code>\(change.checkStateId ?? "")</code>)"
                }
                var health: HTMLText = ""
                if let changed = change.health {
                    health = " \(badge(changed))"
                }
                html +=
                    "<li>\(timeElement(change.at)) <code>\(change.urn)</code>\(subStreamText(change.subStreamId)) "
                    + "\(what)\(health): \(change.explanation)</li>\n"
            }
            html += "</ol>\n"
        }
        html += "</section>\n"
        return html
    }

    private static func streamSection(_ stream: StatusPage.StreamItem, now: Date) -> HTMLText {
        var html: HTMLText =
            "<section class=\"stream\" data-urn=\"\(stream.urn)\" data-health=\"\(stream.worstHealth?.rawValue ?? "NONE")\">\n"
        html += "<h3>\(optionalBadge(stream.worstHealth)) <code>\(stream.urn)</code></h3>\n"
        html +=
            "<p class=\"meta\">\(stream.consistencyModel) · \(countsText(stream.counts)) · \(stream.subStreams.count) "
            + "\(plural(stream.subStreams.count, "sub-stream"))</p>\n"
        for subStream in stream.subStreams {
            html += "<section class=\"substream\">\n"
            var heading: HTMLText = "main sub-stream"
            if let id = subStream.subStreamId {
                heading = "sub-stream <code>\(id)</code>"
            }
            html += "<h4>\(optionalBadge(subStream.worstHealth)) \(heading)</h4>\n"
            html +=
                "<p class=\"meta\">\(countsText(subStream.counts)) · last message "
                + "\(timeElement(subStream.lastMessageAt)), "
                + "\(durationText(now.timeIntervalSince1970 - subStream.lastMessageAt)) ago</p>\n"
            if !subStream.checkStates.isEmpty {
                html +=
                    "<table>\n<thead><tr><th scope=\"col\">Health</th><th scope=\"col\">Check</th>"
                    + "<th scope=\"col\">Element</th><th scope=\"col\">Message</th><th scope=\"col\">For</th></tr>"
                    + "</thead>\n<tbody>\n"
                var clearShown = 0
                for state in subStream.checkStates {
                    if state.health == .clear {
                        clearShown += 1
                        if clearShown > maximumClearCheckStatesShown { continue }
                    }
                    html +=
                        "<tr data-health=\"\(state.health.rawValue)\"><td>\(badge(state.health))</td>"
                        + "<td><span class=\"name\">\(state.name)</span> <code>\(state.checkStateId)</code></td>"
                        + "<td><code>\(state.topologyElementIdentifier)</code></td>"
                        + "<td class=\"message\">\(state.message ?? "")</td><td>\(forText(state.since, now: now))</td>"
                        + "</tr>\n"
                }
                html += "</tbody>\n</table>\n"
                if clearShown > maximumClearCheckStatesShown {
                    html +=
                        "<p class=\"more\">and \(clearShown - maximumClearCheckStatesShown) more CLEAR check states "
                        + "(all in <a href=\"status.json\">status.json</a>).</p>\n"
                }
            }
            html += "</section>\n"
        }
        html += "</section>\n"
        return html
    }

    // MARK: Pieces

    /// The health as symbol and word, never colour alone.
    static func badge(_ health: Health) -> HTMLText {
        let symbol =
            switch health {
            case .clear: "✔"
            case .deviating: "▲"
            case .critical: "✖"
            }
        return
            "<span class=\"health \(health.rawValue.lowercased())\"><span aria-hidden=\"true\">\(symbol)</span> \(health.rawValue)</span>"
    }

    private static func optionalBadge(_ health: Health?) -> HTMLText {
        guard let health else { return "<span class=\"health none\">no check states</span>" }
        return badge(health)
    }

    private static func count(_ counts: StatusPage.Counts, _ health: Health) -> Int {
        switch health {
        case .clear: counts.clear
        case .deviating: counts.deviating
        case .critical: counts.critical
        }
    }

    private static func countsText(_ counts: StatusPage.Counts) -> HTMLText {
        "\(counts.critical) CRITICAL, \(counts.deviating) DEVIATING, \(counts.clear) CLEAR"
    }

    private static func subStreamText(_ id: String?) -> HTMLText {
        guard let id else { return "" }
        return " [<code>\(id)</code>]"
    }

    private static func plural(_ count: Int, _ word: String) -> String {
        count == 1 ? word : word + "s"
    }

    private static func forText(_ since: Double?, now: Date) -> HTMLText {
        guard let since else { return "<span title=\"longer than the event window\">long</span>" }
        return
            "<span title=\"since \(iso(Date(timeIntervalSince1970: since)))\">\(durationText(now.timeIntervalSince1970 - since))</span>"
    }

    private static func timeElement(_ epoch: Double) -> HTMLText {
        let date = Date(timeIntervalSince1970: epoch)
        return "<time datetime=\"\(iso(date))\">\(clockText(date))</time>"
    }

    static func overallWords(_ status: StatusPage.Overall) -> String {
        switch status {
        case .operational: "Operational"
        case .degraded: "Degraded"
        case .outage: "Outage"
        }
    }

    private static func overallSymbol(_ status: StatusPage.Overall) -> String {
        switch status {
        case .operational: "✔"
        case .degraded: "▲"
        case .outage: "✖"
        }
    }

    private static func problemWords(_ kind: String) -> String {
        switch kind {
        case "late": "Late"
        case "dead": "Dead"
        default: "Error"
        }
    }

    /// `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
    static func durationText(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds.rounded(.down)))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min" }
        if whole < 86_400 { return "\(whole / 3600) h \(whole % 3600 / 60) min" }
        return "\(whole / 86_400) d \(whole % 86_400 / 3600) h"
    }

    private static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// `2026-12-05 10:20:31 UTC`.
    private static func clockText(_ date: Date) -> String {
        let iso = date.formatted(.iso8601)
        return iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    // MARK: Badge

    /// A shields-style SVG badge: `label` on grey, the health on its colour; both texts escaped.
    static func svgBadge(label: String, health: Health?) -> String {
        let value = health?.rawValue ?? "NO CHECK STATES"
        let colour =
            switch health {
            case .clear: "#2e7d32"
            case .deviating: "#b26a00"
            case .critical: "#c62828"
            case nil: "#616161"
            }
        let labelWidth = textWidth(label)
        let valueWidth = textWidth(value)
        let width = labelWidth + valueWidth
        let svg: HTMLText = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="20" role="img" aria-label="\(label): \(value)">\
            <title>\(label): \(value)</title>\
            <rect width="\(labelWidth)" height="20" fill="#555"/>\
            <rect x="\(labelWidth)" width="\(valueWidth)" height="20" fill="\(raw: colour)"/>\
            <g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">\
            <text x="\(labelWidth / 2)" y="14">\(label)</text>\
            <text x="\(labelWidth + valueWidth / 2)" y="14">\(value)</text></g></svg>

            """
        return svg.markup
    }

    /// A width that holds `text` in 11 px Verdana: 7 px a character and 10 px of padding.
    private static func textWidth(_ text: String) -> Int {
        text.count * 7 + 10
    }

    // MARK: Constants

    private static let styleSheet = """
        :root{--fg:#1b1b1b;--bg:#fff;--muted:#555;--line:#ddd;--clear:#1b5e20;--dev:#8a4b00;--crit:#b71c1c}
        @media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#121212;--muted:#aaa;--line:#333;--clear:#81c784;\
        --dev:#ffb74d;--crit:#ef9a9a}}
        *{box-sizing:border-box}
        body{margin:0 auto;max-width:72rem;padding:1rem;font:16px/1.45 system-ui,sans-serif;color:var(--fg);\
        background:var(--bg);overflow-wrap:anywhere}
        h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.25rem;border-bottom:1px solid var(--line);\
        padding-bottom:.25rem;margin-top:2rem}h3{font-size:1.1rem;margin:1.5rem 0 .25rem}h4{font-size:1rem;\
        margin:1rem 0 .25rem}
        .overall{font-size:1.4rem;font-weight:700;padding:.5rem .75rem;border-radius:.4rem;border:2px solid}
        .overall.operational{color:var(--clear)}.overall.degraded{color:var(--dev)}.overall.outage{color:var(--crit)}
        .counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
        .updated,.meta,.since,.more,.none{color:var(--muted)}
        .health{font-weight:600;white-space:nowrap}.health.clear{color:var(--clear)}.health.deviating{color:var(--dev)}
        .health.critical{color:var(--crit)}.health.none{color:var(--muted)}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;\
        border-bottom:1px solid var(--line)}
        th{white-space:nowrap;overflow-wrap:normal}.message{white-space:pre-wrap}
        code{font-size:.9em}
        .problems li,.changes li{margin:.35rem 0}
        @media (max-width:40rem){thead{position:absolute;left:-9999px}table,tbody,tr,td{display:block}\
        tr{border-bottom:1px solid var(--line);padding:.4rem 0}td{border:0;padding:.1rem 0}}
        """

    /// Refreshes the summary and content when `GET /status/events` says the store changed; without JavaScript the
    /// `<noscript>` meta refresh reloads the page instead.
    private static let script = """
        (function(){if(!("EventSource" in window)||!window.fetch||!window.DOMParser)return;\
        var last=null,source=new EventSource("status/events"+location.search);\
        source.onmessage=function(event){if(event.data===last)return;var first=last===null;last=event.data;\
        if(first)return;fetch(location.href,{headers:{accept:"text/html"}}).then(function(r){\
        if(!r.ok)throw new Error(r.status);return r.text()}).then(function(text){\
        var next=new DOMParser().parseFromString(text,"text/html");["summary","content"].forEach(function(id){\
        var now=document.getElementById(id),then=next.getElementById(id);if(now&&then)now.replaceWith(then)});\
        document.title=next.title}).catch(function(){})}})();
        """
}

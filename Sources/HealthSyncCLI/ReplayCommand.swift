import ArgumentParser
import Foundation
import HealthSync

/// `healthsync replay`: applies payload files to the database (SPEC §7).
struct ReplayCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Apply the envelopes of payload files to the database.",
        discussion: """
            A FILE holds one JSON envelope, or JSON Lines (one envelope per line); - reads them from standard input, \
            named <stdin> in messages. An empty file is replayed with a warning. A directory stands for every \
            .json and .jsonl file below it in path order (files named expected.json, which hold fixture \
            expectations, are skipped). Envelopes are applied in file order at their collection_timestamp; timers \
            due before each fire first. Up to --envelopes-per-commit envelopes are committed in one transaction, with \
            their receipts: an interrupted replay leaves whole envelopes only, and envelopes a previous replay of the \
            same file applied are skipped. \
            Rejections are printed as FILE:LINE: JSON-PATH: reason. A --start or --until more than a day past wall \
            time needs --yes (the clock never goes back).

            Exit status: 0 when every envelope was applied, 1 when any envelope or message was rejected (the \
            valid ones are still applied), 2 for usage errors, unreadable files or an unusable database.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @OptionGroup var cache: CacheOptions

    @Option(
        help: ArgumentHelp(
            "Advance the clock to TIME (epoch seconds or ISO-8601) before the first envelope.", valueName: "time"),
        transform: TimeArgument.parse)
    var start: TimeArgument?

    @Option(
        help: ArgumentHelp("After the last envelope, advance the clock to TIME, firing due timers.", valueName: "time"),
        transform: TimeArgument.parse)
    var until: TimeArgument?

    @Flag(help: "Report unknown keys as warnings and reject non-main sub-streams without expiry.")
    var strict = false

    @OptionGroup var grace: LateGraceOptions

    @Flag(help: "After the summary, print the resulting check states as `healthsync state` does.")
    var showState = false

    @Option(
        help: ArgumentHelp(
            "Apply up to COUNT envelopes per transaction; 1 commits each on its own. The result is the same.",
            valueName: "count"))
    var envelopesPerCommit = Replayer.defaultEnvelopesPerCommit

    @Flag(help: "Confirm a --start or --until more than a day past wall time.")
    var yes = false

    @OptionGroup var logging: LoggingOptions

    @Argument(
        help: ArgumentHelp(
            "Payload files (one JSON envelope each, or JSON Lines) or directories of them; - reads standard input.",
            valueName: "file")
    )
    var files: [String]

    func validate() throws {
        if let start, let until, until.date < start.date {
            throw ValidationError("--until must not be earlier than --start.")
        }
        if envelopesPerCommit < 1 {
            throw ValidationError("--envelopes-per-commit must be at least 1.")
        }
    }

    func execute(console: Console) async throws {
        var sources: [Replayer.Source] = []
        for file in try Self.expand(files, console: console) {
            do {
                // A file's digest (its envelopes' receipts) is computed while it is read.
                let (bytes, digest) =
                    file == "-"
                    ? (try PayloadBytes.readStandardInput(), nil) : try PayloadBytes.readWithDigest(path: file)
                let name = file == "-" ? Self.standardInputName : file
                if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
                    console.printError("warning: \(name) is empty: it holds no envelope")
                }
                sources.append(Replayer.Source(name: name, bytes: bytes, digest: digest))
            } catch {
                console.printError("error: cannot read \(file): \(error)")
                throw ExitCode(2)
            }
        }
        let (store, lock) = try await database.openWriter(
            command: "replay", creating: true, console: console, cache: cache)
        // The writer lock is held until the command returns, the store closed first.
        defer { DatabaseOptions.close(store, releasing: lock, console: console) }
        // Into an empty event record, the record's stream index is built once at the end (runs before the close).
        let deferredIndex = DatabaseOptions.deferEventIndexForBulkLoad(of: store, console: console)
        defer { if deferredIndex { DatabaseOptions.buildEventIndex(of: store, console: console) } }
        let processor = HealthProcessor(
            store: store,
            configuration: HealthProcessor.Configuration(lateGrace: grace.lateGrace.seconds),
            logger: logging.makeLogger()
        )
        let clock = try await processor.clock()
        for time in [start, until].compactMap(\.self) {
            try ClockJump(from: clock, to: time.date, wallTime: SystemClock().now, retention: nil)
                .require(confirmed: yes, command: "replay", alternatives: "", console: console)
        }
        var replayer = Replayer(processor: processor, decoder: EnvelopeDecoder(strict: strict))
        replayer.envelopesPerCommit = envelopesPerCommit
        let outcome = try await replayer.replay(sources, start: start?.date, until: until?.date)
        for rejection in outcome.rejections { console.printError(rejection.description) }
        for warning in outcome.warnings { console.printError("warning: \(warning)") }
        for note in Self.notes(on: outcome) { console.printError("note: \(note)") }
        console.print(Self.summary(of: outcome))
        if showState {
            console.print("")
            console.print(StateCommand.table(of: try await store.allCheckStates()))
        }
        if !outcome.isClean { throw ExitCode(1) }
    }

    /// How rejections name standard input (`replay -`).
    static let standardInputName = "<stdin>"

    /// The files to replay: each FILE, or for a directory every `.json`/`.jsonl` file below it (except
    /// `expected.json`), sorted by path.
    static func expand(_ paths: [String], console: Console) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let walker = FileManager.default.enumerator(atPath: path) else {
                console.printError("error: cannot read \(path): not a readable directory")
                throw ExitCode(2)
            }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                guard name != "expected.json", name.hasSuffix(".json") || name.hasSuffix(".jsonl") else { continue }
                found.append((path as NSString).appendingPathComponent(relative))
            }
            guard !found.isEmpty else {
                console.printError("error: cannot read \(path): the directory holds no .json or .jsonl file")
                throw ExitCode(2)
            }
            files += found.sorted()
        }
        return files
    }

    /// The one-line summary, such as
    /// `2 envelopes applied, 1 rejected; check states: 2 created, 0 updated, 0 deleted; 1 error opened`.
    static func summary(of outcome: Replayer.Outcome) -> String {
        let counts = outcome.counts
        var parts = [
            "\(plural(outcome.envelopesApplied, "envelope")) applied, \(outcome.envelopesRejected) rejected",
            "check states: \(counts.created) created, \(counts.updated) updated, \(counts.deleted) deleted",
            "\(plural(counts.errorsOpened, "error")) opened",
        ]
        if outcome.messagesRejected > 0 { parts.append("\(plural(outcome.messagesRejected, "message")) rejected") }
        if outcome.timersFired > 0 {
            parts.append(timers(fired: outcome.timersFired, missedPeriods: outcome.missedPeriods))
        }
        if outcome.envelopesAlreadyApplied > 0 {
            parts.append("\(plural(outcome.envelopesAlreadyApplied, "envelope")) skipped as already applied")
        }
        return parts.joined(separator: "; ")
    }

    /// What a reader new to the format needs to read the diagnostics and the summary: what the warnings are, and
    /// why many more timers fired than envelopes were applied.
    static func notes(on outcome: Replayer.Outcome) -> [String] {
        var notes: [String] = []
        if !outcome.warnings.isEmpty {
            notes.append(
                "the \(plural(outcome.warnings.count, "warning")) above name check states dropped for an invalid "
                    + "field (or, with --strict, unknown keys); the rest of each message was applied, and each "
                    + "stream's SubStreamTransformerError says so in `healthsync status --urn URN`")
        }
        if outcome.missedPeriods > 10 * max(1, outcome.envelopesApplied), let clock = outcome.clock {
            notes.append(
                "timers fire as the clock passes deadlines: a stream that stopped sending is reported late "
                    + "(SubStreamLateData) once per missed repeat interval, up to the clock at "
                    + "\(TimeArgument.format(clock)); `healthsync streams` and `healthsync status --urn URN` show them")
        }
        return notes
    }

    /// `3 timers fired`, or with late data `3 timers fired; late data counted for 64,125 missed periods`.
    static func timers(fired: Int, missedPeriods: Int) -> String {
        let timers = "\(plural(fired, "timer")) fired"
        guard missedPeriods > 0 else { return timers }
        let periods = missedPeriods == 1 ? "1 missed period" : "\(grouped(missedPeriods)) missed periods"
        return "\(timers); late data counted for \(periods)"
    }

    /// A count with its thousands grouped by commas (`64,125`), whatever the locale.
    static func grouped(_ count: Int) -> String {
        let digits = Array(String(count.magnitude))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return count < 0 ? "-" + text : text
    }

    /// `1 envelope`, `2 envelopes`.
    static func plural(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }
}

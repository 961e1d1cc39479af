import AddonABI
import Foundation
import PluginAPI
import RunnerProtocol
import SwitchboardCore

/// The rules after the manifest, in order. Each catches its own failures; a runner that died in
/// one is replaced for the next, so one fault does not hide the others.
extension ValidationRun {
    func exports(into report: inout ValidationReport) {
        do {
            let exported = try ELFExports.functionsAndObjects(of: library)
            if exported == [SB_ADDON_ENTRY_SYMBOL] {
                report.add(.exports, .passed, "\(SB_ADDON_ENTRY_SYMBOL) only")
            } else {
                let others = exported.filter { $0 != SB_ADDON_ENTRY_SYMBOL }
                let shown = others.prefix(5).joined(separator: ", ") + (others.count > 5 ? ", …" : "")
                report.add(
                    .exports, .failed,
                    exported.contains(SB_ADDON_ENTRY_SYMBOL)
                        ? "\(others.count) more symbol(s) exported (\(shown)): they can clash with the host's or another add-on's; link with a version script exporting only \(SB_ADDON_ENTRY_SYMBOL) (the scaffold's exports.map) and build with -fvisibility=hidden"
                        : "\(SB_ADDON_ENTRY_SYMBOL) is not exported (found: \(shown.isEmpty ? "nothing" : shown)); declare it with SB_EXPORT (C) or @_cdecl (Swift)"
                )
            }
        } catch {
            report.add(.exports, .failed, error.description)
        }
    }

    func behaviour(into report: inout ValidationReport) {
        var session: ValidationSession?
        do {
            let started = try start()
            session = started
            if let abi = descriptorABI, abi != (manifest.abiMajor, manifest.abiMinor) {
                // The host reads the descriptor by its own version, so this loads; but the manifest
                // is what operators and customers are shown, and it must say what was built.
                report.add(
                    .descriptor, .failed,
                    "the library's descriptor says ABI \(abi.major).\(abi.minor) but the manifest declares \(manifest.abiMajor).\(manifest.abiMinor): set the manifest's \"abi\" to {\"major\": \(abi.major), \"minor\": \(abi.minor)}, the version of the header the library is built with"
                )
            } else {
                report.add(
                    .descriptor, .passed,
                    "runner pid \(started.pid); hooks \(manifest.hooks.map(\.rawValue).joined(separator: ", "))"
                        + (flags & UInt32(SB_ADDON_THREAD_SAFE) != 0 ? "; flagged SB_ADDON_THREAD_SAFE" : ""))
            }
        } catch {
            report.add(.descriptor, .failed, error.description)
            report.skipRest(after: .descriptor, because: "the runner must load the add-on first")
            return
        }
        defer { session?.kill() }
        /// The live runner, started again when the previous rule left it dead.
        func live() throws(ValidationSession.Failure) -> ValidationSession {
            if let current = session, current.isRunning { return current }
            let started = try start()
            session = started
            return started
        }
        func rule(
            _ id: ValidationRuleID,
            _ body: () throws(ValidationSession.Failure) -> (ValidationReport.Rule.Outcome, String)
        ) {
            do {
                let (outcome, detail) = try body()
                report.add(id, outcome, detail)
            } catch {
                session?.kill()
                report.add(id, .failed, error.description)
            }
        }
        rule(.lifecycle) { () throws(ValidationSession.Failure) in try lifecycle(live()) }
        rule(.fields) { () throws(ValidationSession.Failure) in try fields(live) }
        rule(.oddValues) { () throws(ValidationSession.Failure) in try oddValues(live) }
        rule(.checkBudget) { () throws(ValidationSession.Failure) in try checkBudget(live) }
        rule(.threadSafety) { () throws(ValidationSession.Failure) in try threadSafety(live) }
        rule(.restart) { () throws(ValidationSession.Failure) in
            let outcome = try restart(live())
            session = nil
            return outcome
        }
        rule(.erase) { () throws(ValidationSession.Failure) in try erase(live()) }
        session?.stop()
        session = nil
        rule(.hostRefusals) { () throws(ValidationSession.Failure) in
            let refused = try start(refusingEmits: true)
            session = refused
            return try hostRefusals(refused)
        }
        session?.stop()
        if invalidAnswers.isEmpty {
            report.add(.returnCodes, .passed, "\(calls) calls, every answer valid")
        } else {
            report.add(
                .returnCodes, .failed,
                "\(invalidAnswers.count) invalid answer(s), e.g. \(invalidAnswers.prefix(3).joined(separator: "; ")); return SB_OK, SB_RETRY (deliver again later) or SB_ERROR (give up on this event), and from check SB_OK with the verdict filled"
            )
        }
        defer {
            for started in sessions { started.kill() }
            let strays = sessions.reduce(0) { $0 + $1.connection.process.strays }
            report.add(
                .processes, strays == 0 ? .passed : .failed,
                strays == 0
                    ? "\(sessions.count) runner(s), none left a process behind"
                    : "\(strays) process(es) it started were still running when its runner ended (killed now); an add-on must not start processes, or must end them in destroy"
            )
        }
        let lines = printed.lines.withLock { $0 }
        if lines.isEmpty {
            report.add(.stdout, .passed, "nothing printed")
        } else {
            report.add(
                .stdout, .failed,
                "\(lines.count) line(s) on stdout, the first: \"\(lines[0].prefix(200))\"; stdout is not the add-on's to use: log through host->log"
            )
        }
    }

    // MARK: The rules

    private func lifecycle(_ session: ValidationSession) throws(ValidationSession.Failure)
        -> (ValidationReport.Rule.Outcome, String)
    {
        // Ten cycles first, so one-time set-up (a lazily started runtime thread) is not counted.
        try session.recreate(10)
        let before = Self.resources(of: session.pid)
        try session.recreate(UInt32(options.lifecycleCycles))
        let after = Self.resources(of: session.pid)
        let figures =
            "\(options.lifecycleCycles) cycles: descriptors \(before.descriptors) → \(after.descriptors), threads \(before.threads) → \(after.threads)"
        if after.descriptors > before.descriptors || after.threads > before.threads {
            return (
                .failed,
                "\(figures); destroy must close every descriptor and join every thread that create opened or started"
            )
        }
        return (.passed, figures)
    }

    private func fields(_ live: () throws(ValidationSession.Failure) -> ValidationSession)
        throws(ValidationSession.Failure) -> (ValidationReport.Rule.Outcome, String)
    {
        var index = 0
        for type in manifest.hooks {
            // The grants a customer can make, then an event with no field at all (terms changed).
            for grant in samples.grants + [Set<String>()] {
                let event = samples.event(type, granted: grant, index: index)
                index += 1
                do {
                    try send(event, type: type, on: try live(), context: Self.describe(event))
                } catch {
                    let absent = samples.fields(of: type).map(\.id).filter { !grant.contains($0) }
                    return (
                        .failed,
                        "\(error) on \(Self.describe(event))"
                            + (absent.isEmpty
                                ? "; every hook's events must be answered within 10 s, without exiting"
                                : " (absent: \(absent.joined(separator: ", "))); a field is absent whenever the customer did not grant it (and all are when the terms changed): check sb_event_get's result (NULL when absent) before using it")
                    )
                }
            }
        }
        return (
            .passed, "\(index) events over \(manifest.hooks.count) hook(s), \(samples.grants.count + 1) grants each"
        )
    }

    private func oddValues(_ live: () throws(ValidationSession.Failure) -> ValidationSession)
        throws(ValidationSession.Failure) -> (ValidationReport.Rule.Outcome, String)
    {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        let oddTexts: [(String, [UInt8])] = [
            ("empty", []), ("invalid UTF-8", [0xC3, 0x28, 0xFF, 0xFE]), ("1 MiB", long),
        ]
        let oddInts: [(String, Int64)] = [("int_value \(Int64.min)", .min), ("int_value \(Int64.max)", .max)]
        var sent = 0
        for type in manifest.hooks {
            for field in samples.fields(of: type) {
                for kind in ABIFieldKind.allCases {
                    let variants: [(String, WireField)] =
                        kind == .int
                        ? oddInts.map { ($0.0, WireField(id: field.id, kind: kind.code, bytes: [], intValue: $0.1)) }
                        : oddTexts.map { ($0.0, WireField(id: field.id, kind: kind.code, bytes: $0.1, intValue: 0)) }
                    for (label, odd) in variants {
                        var event = samples.event(type, granted: samples.allFields, index: sent)
                        event.fields = event.fields.map { $0.id == field.id ? odd : $0 }
                        sent += 1
                        do {
                            try send(event, type: type, on: try live(), context: "\(field.id) as \(kind) (\(label))")
                        } catch {
                            return (
                                .failed,
                                "\(error) on a \(type.rawValue) event with \(field.id) sent as \(kind) (\(label)); check each field's kind and length before reading it, and never assume text is valid UTF-8 or short"
                            )
                        }
                    }
                }
            }
        }
        return (.passed, "\(sent) events with one odd field each survived")
    }

    private func checkBudget(_ live: () throws(ValidationSession.Failure) -> ValidationSession)
        throws(ValidationSession.Failure) -> (ValidationReport.Rule.Outcome, String)
    {
        guard manifest.hooks.contains(.messageSubmit) else { return (.skipped, "no message.submit hook") }
        let budget = Duration.milliseconds(manifest.syncTimeoutMs)
        let session = try live()
        var times: [Duration] = []
        var late = 0
        let clock = ContinuousClock()
        for index in 0..<options.checkCalls {
            let event = samples.event(.messageSubmit, granted: samples.allFields, index: index)
            let started = clock.now
            try check(event, on: session, context: "a message.submit check")
            let took = clock.now - started
            times.append(took)
            if took > budget { late += 1 }
            // More than 1% late already fails; stop rather than wait out a slow add-on.
            if late > options.checkCalls / 100 { break }
        }
        times.sort()
        func ms(_ duration: Duration) -> String {
            let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
            return value < 10 ? String(format: "%.3f", value) : String(format: "%.0f", value)
        }
        let p50 = times[times.count / 2]
        let p99 = times[min(times.count - 1, times.count * 99 / 100)]
        let figures =
            "\(times.count) checks: p50 \(ms(p50)) ms, p99 \(ms(p99)) ms (round trip through the runner); timeout_ms \(manifest.syncTimeoutMs)"
        if late > options.checkCalls / 100 || p99 > budget {
            return (
                .failed,
                "\(figures), \(late) over it; a late check counts as a failure and the manifest's failure_mode decides the message: do slow work in on_event, or raise timeout_ms"
            )
        }
        return (.passed, figures)
    }

    private func threadSafety(_ live: () throws(ValidationSession.Failure) -> ValidationSession)
        throws(ValidationSession.Failure) -> (ValidationReport.Rule.Outcome, String)
    {
        guard flags & UInt32(SB_ADDON_THREAD_SAFE) != 0 else {
            return (.skipped, "not flagged SB_ADDON_THREAD_SAFE: the host calls it from one thread at a time")
        }
        guard let type = samples.asyncHooks.first else { return (.skipped, "no asynchronous hook") }
        let events = (0..<50).map { samples.event(type, granted: samples.allFields, index: $0) }
        let codes: [Int32]
        do {
            codes = try live().deliverConcurrently(events, threads: 4)
        } catch {
            return (
                .failed,
                "\(error) while 4 threads delivered 50 \(type.rawValue) events each at once; guard shared state (a mutex) or clear SB_ADDON_THREAD_SAFE"
            )
        }
        calls += codes.count
        for code in codes where !Self.isABICode(code) {
            invalidAnswers.append("on_event answered \(code) to a concurrent \(type.rawValue) event")
        }
        return (.passed, "4 threads × 50 \(type.rawValue) events at once")
    }

    private func restart(_ session: ValidationSession) throws(ValidationSession.Failure)
        -> (ValidationReport.Rule.Outcome, String)
    {
        var sentValues: [[UInt8]] = []
        for type in manifest.hooks {
            for index in 0..<20 {
                let event = samples.event(type, granted: samples.allFields, index: 1000 + index)
                sentValues += event.fields.filter { $0.bytes.count >= 8 }.map(\.bytes)
                try send(event, type: type, on: session, context: "a \(type.rawValue) event before a restart")
            }
        }
        let stopped = session.stop()
        guard stopped == "exited with status 0" else {
            return (.failed, "stopping it (destroy, then the runner's exit) \(stopped)")
        }
        let before = stateFiles()
        let kept = Set(sentValues.filter { value in before.contains { $0.bytes.range(of: Data(value)) != nil } })
        let again = try start()
        defer { again.stop() }
        let after = stateFiles()
        let total = { (files: [(path: String, bytes: Data)]) in files.reduce(0) { $0 + $1.bytes.count } }
        if total(before) > 0 && total(after) == 0 {
            return (
                .failed,
                "\(before.count) state file(s), \(total(before)) bytes, were emptied or removed when it started again; read the state back in create instead of starting afresh"
            )
        }
        let lost = kept.filter { value in !after.contains { $0.bytes.range(of: Data(value)) != nil } }
        if !lost.isEmpty {
            return (
                .failed,
                "\(lost.count) of the \(kept.count) values its state held before the restart are gone after it; read the state back in create"
            )
        }
        return (
            .passed,
            before.isEmpty
                ? "keeps no files; stopped and started again cleanly"
                : "\(before.count) state file(s), \(total(before)) bytes, kept across a restart"
        )
    }

    private func erase(_ session: ValidationSession) throws(ValidationSession.Failure)
        -> (ValidationReport.Rule.Outcome, String)
    {
        let account = ValidationSamples.accountID
        let number = ValidationSamples.number
        let otherNumber = "+37255500456"
        for type in manifest.hooks {
            for index in 0..<10 {
                for (accountID, recipient) in [
                    (account, number), (account, otherNumber), (ValidationSamples.otherAccountID, "+37255500777"),
                ] {
                    let event = samples.event(
                        type, granted: samples.allFields, index: 2000 + index, accountID: accountID, number: recipient)
                    try send(event, type: type, on: session, context: "a \(type.rawValue) event before an erasure")
                }
            }
        }
        let token = samples.pseudonyms.token(number, addonID: manifest.id, accountID: account)
        let traces = [Data(number.utf8), Data(token.utf8)]
        let heldNumber = stateFiles().contains { file in traces.contains { file.bytes.range(of: $0) != nil } }
        let heldAccount = stateFiles().contains {
            $0.path.contains(account) || $0.bytes.range(of: Data(account.utf8)) != nil
        }
        // As the daemon does: the number in clear only to an add-on that received numbers in clear.
        let clear = manifest.fields.contains { ["usage.to", "usage.from"].contains($0.id) && !$0.pseudonym }
        let numberSubject = Requests.Subject(
            kind: ABISubjectKind.number.code, accountID: account, value: clear ? number : nil, pseudonym: token)
        for attempt in ["first", "second"] {
            let code = try eraseAcknowledged(numberSubject, on: session)
            guard code == SB_OK else {
                return (
                    .failed,
                    "the \(attempt) erasure of a number answered \(code)" + Self.endBatchHint(code)
                        + (attempt == "second"
                            ? "; erasure must be idempotent: the host asks again whenever it did not see the acknowledgement"
                            : "; answer SB_OK once the subject's data is deleted (SB_RETRY to be asked again later)")
                )
            }
        }
        if let file = stateFiles().first(where: { file in traces.contains { file.bytes.range(of: $0) != nil } }) {
            return (
                .failed,
                "after erasing \(number) from \(account), \(file.path) in the state directory still holds it (in clear or as its pseudonym); delete every record of the subject, including in snapshots and journals"
            )
        }
        let accountSubject = Requests.Subject(
            kind: ABISubjectKind.account.code, accountID: account, value: nil, pseudonym: nil)
        for attempt in ["first", "second"] {
            let code = try eraseAcknowledged(accountSubject, on: session)
            guard code == SB_OK else {
                return (
                    .failed,
                    "the \(attempt) erasure of an account answered \(code)\(Self.endBatchHint(code)); erasure must be idempotent"
                )
            }
        }
        if let file = stateFiles().first(where: {
            $0.path.contains(account) || $0.bytes.range(of: Data(account.utf8)) != nil
        }) {
            return (
                .failed,
                "after erasing the account \(account), \(file.path) in the state directory still names it; delete everything held about the account"
            )
        }
        return (
            .passed,
            (heldNumber || heldAccount
                ? "the state held the subject before; after erase, neither the number, its pseudonym nor the account remain"
                : "the state never named the subject")
                + "; erase answered SB_OK twice for a number and for an account"
        )
    }

    /// Erases, asking again (as the host does) while the add-on answers SB_RETRY, up to 5 times.
    private func eraseAcknowledged(_ subject: Requests.Subject, on session: ValidationSession)
        throws(ValidationSession.Failure) -> Int32
    {
        var code = SB_RETRY
        for _ in 0..<5 where code == SB_RETRY {
            code = try session.erase(subject)
            calls += 1
            if !Self.isABICode(code) {
                invalidAnswers.append("erase answered \(code)")
            }
        }
        return code
    }

    private func hostRefusals(_ session: ValidationSession) throws(ValidationSession.Failure)
        -> (ValidationReport.Rule.Outcome, String)
    {
        var sent = 0
        for type in manifest.hooks {
            for index in 0..<20 {
                let event = samples.event(type, granted: samples.allFields, index: 3000 + index)
                do {
                    try send(event, type: type, on: session, context: "a \(type.rawValue) event with emit refused")
                } catch {
                    return (
                        .failed,
                        "\(error) on a \(type.rawValue) event while the host refused every record; emit returns a negative value for a record it refuses (an erased account, invalid JSON): check it and carry on"
                    )
                }
                sent += 1
            }
        }
        return (.passed, "\(sent) events with every emit refused")
    }

    /// An `SB_RETRY` after an erasure may be `end_batch`'s (ABI 1.1): the host calls it after each
    /// `erase`, and a failure there takes the erasure back.
    static func endBatchHint(_ code: Int32) -> String {
        code == SB_RETRY
            ? " (from erase, or from end_batch, which follows each erase: a failing end_batch answers SB_RETRY)" : ""
    }
}

import HTTPTypes
import Testing
import TestSupport
import WireHTTP1

/// One thing the parser reported, with body bytes copied out so runs over different
/// chunkings can be compared (consecutive body events are merged).
enum Ev: Hashable, CustomStringConvertible {
    case request(HTTP1RequestHead)
    case response(HTTP1ResponseHead)
    case body([UInt8])
    case extensions(HTTP1FieldBlock)
    case end(HTTP1FieldBlock?)
    case error(HTTP1ParseError)
    /// The parser paused; the bytes it did not consume (the next protocol's).
    case paused(HTTP1ParserPause, leftover: [UInt8])

    var description: String {
        switch self {
        case .request(let h): "head \(h.method) \(h.target) \(h.version)"
        case .response(let h): "head \(h.version) \(h.status) \(h.reason)"
        case .body(let b): "body \(String(decoding: b, as: UTF8.self))"
        case .extensions(let e): "ext \(fieldsDescription(e))"
        case .end(let t): t.map { "end \(fieldsDescription($0))" } ?? "end"
        case .error(let e): "error \(e.code.name)@\(e.offset)"
        case .paused(let p, let left): "paused \(p) \(String(decoding: left, as: UTF8.self))"
        }
    }
}

func fieldsDescription(_ block: HTTP1FieldBlock) -> String {
    (0..<block.count).map { "\(block.name(at: $0))=\(block.value(at: $0))" }.joined(separator: ",")
}

/// What to do when a server's parser pauses for a protocol decision.
enum SwitchDecision { case accept, decline, stop }

/// Feeds `pieces` to a fresh parser the way a caller would (re-feeding unconsumed bytes,
/// then the next piece), then calls `finish()` if asked.
func drive(
    _ pieces: [ArraySlice<UInt8>], kind: HTTP1MessageKind,
    configuration: HTTP1ParserConfiguration = .init(),
    expecting methods: [HTTPRequest.Method] = [], decision: SwitchDecision = .stop, finish: Bool = true
) -> [Ev] {
    var parser = HTTP1Parser(parsing: kind, configuration: configuration)
    for m in methods { parser.expectResponse(to: m) }
    var events: [Ev] = []
    func add(_ e: Ev) {
        if case .body(let more) = e, case .body(let previous)? = events.last {
            events[events.count - 1] = .body(previous + more)
        } else {
            events.append(e)
        }
    }
    var pieceIndex = 0
    var rest: [UInt8] = []
    func record(_ step: HTTP1ParseStep, _ input: [UInt8]) {
        switch step.event {
        case .requestHead(let h)?: add(.request(h))
        case .responseHead(let h)?: add(.response(h))
        case .body(let r)?:
            #expect(!r.isEmpty, "empty body event")
            add(.body(Array(input[r])))
        case .chunkExtensions(let e)?: add(.extensions(e))
        case .end(let t)?: add(.end(t))
        case nil: break
        }
    }
    while true {
        if pieceIndex < pieces.count {
            rest += pieces[pieceIndex]
            pieceIndex += 1
        } else {
            break
        }
        while true {
            let input = rest
            let step: HTTP1ParseStep
            do {
                step = try input.withUnsafeBufferPointer { try parser.parse($0.span) }
            } catch let error as HTTP1ParseError {
                add(.error(error))
                return events
            } catch {
                Issue.record("untyped error \(error)")
                return events
            }
            #expect(step.consumed >= 0 && step.consumed <= input.count)
            record(step, input)
            rest = Array(input[step.consumed...])
            if step.event != nil { continue }
            if let pause = parser.pause {
                #expect(step.consumed == 0)
                if pause == .awaitingProtocolDecision && decision != .stop {
                    if decision == .accept { parser.acceptProtocolSwitch() } else { parser.declineProtocolSwitch() }
                    continue
                }
                let leftover = rest + pieces[pieceIndex...].flatMap { $0 }
                add(.paused(pause, leftover: leftover))
                return events
            }
            #expect(rest.isEmpty, "no event but bytes left unconsumed")
            break
        }
    }
    if finish {
        while true {
            do {
                let step = try parser.finish()
                guard step.event != nil else { break }
                record(step, [])
            } catch {
                add(.error(error))
                break
            }
        }
    }
    return events
}

/// Runs `bytes` through every chunking of `Chunkings.standard` and checks they all give the
/// events of the unsplit run, which it returns.
@discardableResult
func parseAllSplits(
    _ bytes: [UInt8], kind: HTTP1MessageKind = .request, configuration: HTTP1ParserConfiguration = .init(),
    expecting methods: [HTTPRequest.Method] = [], decision: SwitchDecision = .stop, finish: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [Ev] {
    let chunkings = Chunkings.standard(of: bytes, randomCount: 8)
    let reference = drive(
        chunkings[0], kind: kind, configuration: configuration, expecting: methods, decision: decision, finish: finish)
    for (n, pieces) in chunkings.enumerated().dropFirst() {
        let events = drive(
            pieces, kind: kind, configuration: configuration, expecting: methods, decision: decision, finish: finish)
        if events != reference {
            Issue.record(
                "chunking #\(n) \(pieces.map(\.count)) gave \(events) instead of \(reference)",
                sourceLocation: sourceLocation)
            break
        }
    }
    return reference
}

/// The events as short strings (see `Ev.description`).
func summary(
    _ text: String, kind: HTTP1MessageKind = .request, configuration: HTTP1ParserConfiguration = .init(),
    expecting methods: [HTTPRequest.Method] = [], decision: SwitchDecision = .stop, finish: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [String] {
    parseAllSplits(
        Array(text.utf8), kind: kind, configuration: configuration, expecting: methods, decision: decision,
        finish: finish, sourceLocation: sourceLocation
    ).map(\.description)
}

/// The error code name the input ends with, or `nil`.
func errorName(
    _ text: String, kind: HTTP1MessageKind = .request, configuration: HTTP1ParserConfiguration = .init(),
    expecting methods: [HTTPRequest.Method] = [], sourceLocation: SourceLocation = #_sourceLocation
) -> String? {
    let events = parseAllSplits(
        Array(text.utf8), kind: kind, configuration: configuration, expecting: methods, sourceLocation: sourceLocation)
    if case .error(let e)? = events.last { return e.code.name }
    return nil
}

/// The error the input ends with, or `nil`.
func parseError(
    _ bytes: [UInt8], kind: HTTP1MessageKind = .request, configuration: HTTP1ParserConfiguration = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> HTTP1ParseError? {
    let events = parseAllSplits(bytes, kind: kind, configuration: configuration, sourceLocation: sourceLocation)
    if case .error(let e)? = events.last { return e }
    return nil
}

/// The first request head of a valid input.
func requestHead(_ text: String, configuration: HTTP1ParserConfiguration = .init(), sourceLocation: SourceLocation = #_sourceLocation) -> HTTP1RequestHead? {
    for e in parseAllSplits(Array(text.utf8), configuration: configuration, sourceLocation: sourceLocation) {
        if case .request(let h) = e { return h }
    }
    Issue.record("no request head", sourceLocation: sourceLocation)
    return nil
}

/// The first response head of a valid input.
func responseHead(
    _ text: String, expecting methods: [HTTPRequest.Method] = [], configuration: HTTP1ParserConfiguration = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> HTTP1ResponseHead? {
    for e in parseAllSplits(
        Array(text.utf8), kind: .response, configuration: configuration, expecting: methods, sourceLocation: sourceLocation)
    {
        if case .response(let h) = e { return h }
    }
    Issue.record("no response head", sourceLocation: sourceLocation)
    return nil
}

extension HTTP1ParserConfiguration {
    static let lenientLF = HTTP1ParserConfiguration(allowBareLF: true)
    static let unfolding = HTTP1ParserConfiguration(obsFold: .replaceWithSpace)
    static func limited(_ change: (inout HTTP1Limits) -> Void) -> HTTP1ParserConfiguration {
        var limits = HTTP1Limits()
        change(&limits)
        return HTTP1ParserConfiguration(limits: limits)
    }
}

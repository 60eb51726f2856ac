import WireSSE

/// Everything a parser reported for one stream.
struct SSEOutcome: Hashable, CustomStringConvertible {
    var events: [SSEParseEvent] = []
    var error: SSEParseError? = nil
    var end: SSEStreamEnd? = nil
    var lastEventID = ""
    var reconnectionTime: UInt64? = nil

    /// Only the dispatched events.
    var dispatched: [SSEEvent] {
        events.compactMap { if case .event(let e) = $0 { e } else { nil } }
    }

    var description: String {
        "events: \(events), error: \(String(describing: error)), end: \(String(describing: end)), lastEventID: \(lastEventID.debugDescription), retry: \(String(describing: reconnectionTime))"
    }
}

/// Feeds `pieces` in order (each as its own read), then ends the stream.
func parseSSE(_ pieces: [ArraySlice<UInt8>], configuration: SSEParserConfiguration = .init(), lastEventID: String = "") -> SSEOutcome {
    var parser = SSEParser(configuration: configuration, lastEventID: lastEventID)
    var outcome = SSEOutcome()
    do throws(SSEParseError) {
        for piece in pieces {
            let bytes = Array(piece)
            var offset = 0
            while true {
                let step = try parser.parse(bytes.span, from: offset)
                offset += step.consumed
                guard let event = step.event else { break }
                outcome.events.append(event)
            }
            precondition(offset == bytes.count, "a step without an event must consume everything")
        }
    } catch {
        outcome.error = error
    }
    outcome.lastEventID = parser.lastEventID
    outcome.reconnectionTime = parser.reconnectionTime
    outcome.end = parser.finish()
    return outcome
}

func parseSSE(_ bytes: [UInt8], configuration: SSEParserConfiguration = .init(), lastEventID: String = "") -> SSEOutcome {
    parseSSE([bytes[...]], configuration: configuration, lastEventID: lastEventID)
}

func parseSSE(_ text: String, configuration: SSEParserConfiguration = .init()) -> SSEOutcome {
    parseSSE(Array(text.utf8), configuration: configuration)
}

func event(_ data: String, type: String = "message", id: String = "") -> SSEParseEvent {
    .event(SSEEvent(type: type, data: data, lastEventID: id))
}

// Fuzz targets for HTTP1Connection, both ends, fed arbitrary bytes by a scripted peer.
//
// The server answers every request with 204 (or declines nothing: it accepts an upgrade
// with 101 when the input's setup byte asks for it) and starts the next cycle; the client
// sends one to three requests (methods from the setup byte), each after the previous
// response ended. Invariants: every chunking gives the same events, usage errors, states and
// outbound bytes; errors carry a status hint; the states never leave the table's values.

@testable import WireHTTP1
import WireCore
import HTTPTypes

enum ConnectionRecord: Equatable, CustomStringConvertible {
    case event(String)
    case body([UInt8])
    case usage(String)
    case error(String, offset: Int)
    case states(HTTP1PeerState, HTTP1PeerState)

    var description: String {
        switch self {
        case .event(let e): e
        case .body(let b): "body(\(b.count))"
        case .usage(let u): "usage(\(u))"
        case .error(let e, let o): "error(\(e) at \(o))"
        case .states(let a, let b): "states(\(a), \(b))"
        }
    }
}

func describe(_ event: HTTP1Event) -> ConnectionRecord {
    switch event {
    case .request(let h): .event("request \(snapshot(h))")
    case .informationalResponse(let h): .event("informational \(snapshot(h))")
    case .response(let h): .event("response \(snapshot(h))")
    case .body(let b): .body(b)
    case .end(let t): .event("end \(t.map { fieldList($0) } ?? [])")
    case .connectionClosed: .event("closed")
    }
}

func runConnection(role: Role, setup: UInt8, input: UnsafeBufferPointer<UInt8>, pieces: [Range<Int>]) -> ([ConnectionRecord], [UInt8]) {
    var conn = HTTP1Connection(role: role, configuration: HTTP1ParserConfiguration(
        allowBareLF: setup & 0x40 != 0, obsFold: setup & 0x80 != 0 ? .replaceWithSpace : .byRole))
    var records: [ConnectionRecord] = []
    var outbound: [UInt8] = []
    var requestsSent = 0
    var failed = false
    let methods: [HTTPRequest.Method] = [.get, .head, .connect, .post]

    func send(_ e: HTTP1OutboundEvent) {
        do { try conn.send(e) } catch { records.append(.usage(error.code.description)) }
        outbound += conn.takeOutbound()
    }
    func sendRequest() {
        let method = methods[Int(setup >> (2 * UInt8(requestsSent % 3))) & 3]
        var fields: HTTPFields = [:]
        if setup & 0x20 != 0 && requestsSent == 0 { fields[.upgrade] = "websocket"; fields[.connection] = "upgrade" }
        if method == .post { fields[.contentLength] = "2" }
        let request = method == .connect
            ? HTTPRequest(method: .connect, scheme: nil, authority: "example.com:443", path: nil, headerFields: fields)
            : HTTPRequest(method: method, scheme: "http", authority: "example.com", path: "/\(requestsSent)", headerFields: fields)
        requestsSent += 1
        send(.request(request))
        if method == .post { send(.body([0x68, 0x69])) }
        send(.end())
    }
    func nextCycle() {
        guard conn.ourState == .done && conn.theirState == .done else { return }
        do { try conn.startNextCycle() } catch { records.append(.usage(error.code.description)); return }
        if role == .client && requestsSent < 3 { sendRequest() }
    }
    func pump() {
        while !failed {
            let event: HTTP1Event?
            do { event = try conn.nextEvent() } catch {
                check(allowedStatusHints.contains(error.statusHint), "status hint \(error.statusHint)")
                check(error.offset >= 0 && error.offset <= input.count, "offset \(error.offset) of \(input.count)")
                records.append(.error(error.code.name, offset: error.offset))
                failed = true
                return
            }
            guard let event else { break }
            let record = describe(event)
            if case .body(let b) = record, case .body(let previous)? = records.last {
                records[records.count - 1] = .body(previous + b)
            } else {
                records.append(record)
            }
            // Bodies are cut differently by different splits: no reaction, no state record.
            if case .body = record { continue }
            switch (role, event) {
            case (.server, .request(let head)):
                if head.isUpgradeRequest && setup & 0x10 != 0 {
                    send(.response(HTTPResponse(status: .switchingProtocols, headerFields: [.upgrade: "websocket", .connection: "upgrade"])))
                } else if head.expectsContinue {
                    send(.response(HTTPResponse(status: .continue)))
                }
            case (.server, .end):
                if conn.ourState == .sendResponse {
                    send(.response(HTTPResponse(status: .noContent)))
                    send(.end())
                }
                nextCycle()
            case (.client, .end):
                nextCycle()
            default:
                break
            }
            records.append(.states(conn.ourState, conn.theirState))
        }
    }

    if role == .client { sendRequest() }
    for piece in pieces where !failed {
        conn.receive(UnsafeBufferPointer(rebasing: input[piece]).span)
        pump()
    }
    if !failed {
        conn.receiveEOF()
        pump()
    }
    if conn.ourState == .switchedProtocol { records.append(.body(conn.takeLeftover())) }
    return (records, outbound)
}

func connectionTarget(_ name: String, role: Role) -> FuzzTarget {
    FuzzTarget(name: name) { data in
        var reader = ByteReader(data)
        let setup = reader.byte()
        let input = reader.rest
        let ways = chunkings(count: input.count, seed: inputSeed(input))
        let reference = runConnection(role: role, setup: setup, input: input, pieces: ways[0])
        for pieces in ways.dropFirst() {
            let other = runConnection(role: role, setup: setup, input: input, pieces: pieces)
            // Bytes that reach a client before its next request is sent are not a response
            // (RFC 9112 §9.2: `unsolicited-response`); whether they came before or after that
            // request depends on the split, as it depends on timing on a network. Runs are
            // compared up to the first such error.
            let cut = [reference.0, other.0].compactMap { records in
                records.firstIndex { if case .error(let code, _) = $0 { code == "unsolicited-response" } else { false } }
            }.min()
            if let cut {
                check(Array(other.0.prefix(cut)) == Array(reference.0.prefix(cut)),
                      "chunking changed the events before an unsolicited response")
                continue
            }
            check(other.0 == reference.0, "chunking changed the events: \(diffDescription(reference.0, other.0))")
            check(other.1 == reference.1, "chunking changed the outbound bytes")
        }
    }
}

let httpConnectionServerTarget = connectionTarget("http-connection-server", role: .server)
let httpConnectionClientTarget = connectionTarget("http-connection-client", role: .client)

import Foundation
import Testing
import WireCodec

/// The code of the DocC articles (`Sources/WireCodec/WireCodec.docc/*.md`), compiled and run
/// here. Each article's ```swift blocks are copied between `// docc: NAME begin` and
/// `// docc: NAME end` markers in this file or in `Tests/WireCodecNIOTests/DocumentationNIOSampleTests.swift`;
/// `articlesMatchTheirSamples` checks that every block of every article is one of them, word for
/// word, so the articles cannot drift from code that builds.
@Suite struct DocumentationSampleTests {
    // MARK: GettingStartedWithHTTP1.md

    @Test func http1Server() throws {
        let bytesFromTheTransport = Array("GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n".utf8)
        var written: [UInt8] = []
        // docc: http1-server begin
        var connection = HTTP1Connection(role: .server)
        connection.receive(bytesFromTheTransport.span)
        while let event = try connection.nextEvent() {
            switch event {
            case .request(let head):
                let request = try head.httpRequest(scheme: "http")
                let body = Array("hello from \(request.path ?? "/")\n".utf8)
                try connection.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "\(body.count)"])))
                try connection.send(.body(body))
                try connection.send(.end())
            case .end:
                try connection.startNextCycle()    // keep-alive: ready for the next request
            default:
                break                              // .body: the request's body, in pieces
            }
        }
        written += connection.takeOutbound()       // write these bytes to the transport
        // docc: http1-server end
        #expect(String(decoding: written, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nhello from /hello\n")
    }

    @Test func http1Parser() throws {
        // docc: http1-parser begin
        let bytes = Array("POST /items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello".utf8)
        var parser = HTTP1Parser(parsing: .request)
        var offset = 0
        while true {
            let step = try parser.parse(bytes.span.extracting(offset...))
            switch step.event {
            case .requestHead(let head)?: print(head.method, head.target)              // POST /items
            case .body(let range)?: print(bytes[(offset + range.lowerBound)...].count)  // a range of the input passed
            case .end?: print("end of message")
            default: break
            }
            offset += step.consumed
            if step.event == nil { break }                                             // nil: more bytes needed
        }
        // docc: http1-parser end
        #expect(offset == bytes.count)
    }

    // MARK: GettingStartedWithWebSocket.md

    @Test func webSocketInMemory() throws {
        // docc: websocket-pair begin
        var client = WebSocketConnection(client: try WebSocketClientHandshake(authority: "example.com", path: "/chat"))
        var server = WebSocketConnection(server: WebSocketServerPolicy())

        // The Upgrade request goes to the server, which accepts it.
        server.receive(client.takeOutbound().span)
        while let event = try server.nextEvent() {
            if case .upgradeRequest(let request) = event {
                if request.request.path == "/chat" { try server.accept() } else { try server.reject(status: .notFound) }
            }
        }
        // The 101 goes back: the client is open too.
        client.receive(server.takeOutbound().span)
        while let event = try client.nextEvent() {
            if case .accepted = event { print("open") }
        }

        // Messages, both ways.
        try client.send(.text("hello"))
        server.receive(client.takeOutbound().span)
        while let event = try server.nextEvent() {
            if case .text(let text) = event { try server.send(.text(text.uppercased())) }    // echo
        }
        client.receive(server.takeOutbound().span)
        while let event = try client.nextEvent() {
            if case .text(let text) = event { print(text) }                                 // HELLO
        }

        // The closing handshake: the client starts it, the server answers and closes the transport.
        try client.close(code: .normalClosure)
        server.receive(client.takeOutbound().span)
        while let event = try server.nextEvent() {
            if case .closed(let closure) = event { print(closure.code, closure.wasClean) }  // 1000 true
        }
        client.receive(server.takeOutbound().span)
        _ = try client.nextEvent()                 // .closed: the client now waits for the server's EOF
        // docc: websocket-pair end
        #expect(server.transport == .closeNow)
        #expect(client.transport == .waitForPeerToClose)
        #expect(client.state.isClosed && server.state.isClosed)
    }

    @Test func webSocketErrors() throws {
        var connection = try WebSocketConnection(role: .server, negotiation: WebSocketNegotiation())
        connection.receive([0x81, 0x82, 1, 2, 3, 4, 0xC3 ^ 1, 0x28 ^ 2].span)   // invalid UTF-8, masked
        var written: [UInt8] = []
        // docc: websocket-errors begin
        do {
            while let event = try connection.nextEvent() {
                print(event)
            }
        } catch {
            // The peer broke the protocol: the close frame with error.closeCode is queued.
            print(error.code.name, error.closeCode, error.offset)   // invalid-utf8 1007 7
        }
        written += connection.takeOutbound()
        if connection.transport == .closeNow { /* close the transport once `written` is out */ }
        // docc: websocket-errors end
        #expect(written.first == 0x88)
        #expect(connection.transport == .closeNow)
    }

    @Test func webSocketPipelines() throws {
        let input: [UInt8] = [0x81, 0x05] + Array("hello".utf8)
        var events: [WebSocketMessageEvent] = []
        func handle(_ event: WebSocketMessageEvent) { events.append(event) }
        // docc: websocket-pipelines begin
        var receiver = try WebSocketReceiver(role: .client, configuration: .init(limits: .init(maxMessageSize: 1 << 20)))
        receiver.receive(input.span)
        while let event = try receiver.nextEvent() {     // nil: more bytes needed
            handle(event)                                // .text, .binary, .ping, .pong, .close
        }
        var sender = try WebSocketSender(role: .server)
        var out: [UInt8] = []
        try sender.writeText("hello", into: &out)        // the same frame as `input`
        // docc: websocket-pipelines end
        #expect(out == input)
        #expect(events == [.text("hello")])
    }

    // MARK: PermessageDeflate.md

    @Test func permessageDeflate() throws {
        // docc: deflate-negotiation begin
        // Client: the offer goes into the Upgrade request.
        let offer = PerMessageDeflateClientOffer()
        let handshake = try WebSocketClientHandshake(authority: "example.com", deflate: offer)

        // Server: a policy picks the first acceptable offer; the connection answers with it.
        let policy = WebSocketServerPolicy(deflate: PerMessageDeflateServerPolicy(maxServerWindowBits: 12))
        var server = WebSocketConnection(server: policy)
        var client = WebSocketConnection(client: handshake)
        server.receive(client.takeOutbound().span)
        while let event = try server.nextEvent() {
            if case .upgradeRequest = event { try server.accept() }
        }
        client.receive(server.takeOutbound().span)
        while let event = try client.nextEvent() {
            if case .accepted(let negotiation) = event {
                print(negotiation.deflate.map { "\($0)" } ?? "no compression")   // the agreed parameters
            }
        }
        // From here, messages of 64 bytes and more are compressed (RSV1), smaller ones are not.
        try client.send(.text(String(repeating: "compress me ", count: 100)))
        // docc: deflate-negotiation end
        let frames = client.takeOutbound()
        #expect(frames.first == 0xC1)       // FIN + RSV1 + text
        #expect(frames.count < 200)
        server.receive(frames.span)
        #expect(try server.nextEvent() == .text(String(repeating: "compress me ", count: 100)))
    }

    @Test func permessageDeflatePipelines() throws {
        // docc: deflate-pipelines begin
        let parameters = PerMessageDeflateParameters()             // as agreed by the handshake
        var sender = try WebSocketSender(role: .server, deflate: parameters)
        var receiver = try WebSocketReceiver(role: .client, deflate: parameters)
        var frames: [UInt8] = []
        try sender.writeText(String(repeating: "a", count: 10_000), into: &frames)
        receiver.receive(frames.span)
        let event = try receiver.nextEvent()                       // .text of 10 000 "a"
        // docc: deflate-pipelines end
        #expect(frames.count < 100)
        #expect(event == .text(String(repeating: "a", count: 10_000)))
    }

    // MARK: ServerSentEvents.md

    @Test func serverSentEvents() throws {
        // docc: sse begin
        // Server: events into a buffer you own (the body of a text/event-stream response).
        var body: [UInt8] = []
        try SSESerializer.writeEvent(data: "first line\nsecond line", type: "update", id: "7", into: &body)
        try SSESerializer.writeComment("heartbeat", into: &body)

        // Client: what a browser's EventSource would dispatch.
        var parser = SSEParser()
        var received: [SSEEvent] = []
        try parser.parse(body.span) { event in
            if case .event(let event) = event { received.append(event) }
        }
        print(received[0].type, received[0].data, received[0].lastEventID)   // update, "first line\nsecond line", 7
        // docc: sse end
        #expect(received == [SSEEvent(type: "update", data: "first line\nsecond line", lastEventID: "7")])
    }

    // MARK: The check

    /// The ```swift blocks of an article.
    static func swiftBlocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    /// The marked samples of a test file, their indentation removed.
    static func samples(_ text: String) -> [String: String] {
        var samples: [String: String] = [:]
        var name: String? = nil
        var lines: [Substring] = []
        var indent = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("// docc: "), trimmed.hasSuffix(" begin") {
                name = String(trimmed.dropFirst("// docc: ".count).dropLast(" begin".count))
                indent = line.count - trimmed.count
                lines = []
            } else if let current = name, trimmed == "// docc: \(current) end" {
                samples[current] = lines.map { $0.count >= indent ? String($0.dropFirst(indent)) : String($0) }.joined(separator: "\n")
                name = nil
            } else if name != nil {
                lines.append(line)
            }
        }
        return samples
    }

    @Test func articlesMatchTheirSamples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalog = root.appendingPathComponent("Sources/WireCodec/WireCodec.docc")
        var samples: [String: String] = [:]
        for file in ["Tests/WireCodecTests/DocumentationSampleTests.swift", "Tests/WireCodecNIOTests/DocumentationNIOSampleTests.swift"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            samples.merge(Self.samples(text)) { first, _ in first }
        }
        let articles = try FileManager.default.contentsOfDirectory(atPath: catalog.path).filter { $0.hasSuffix(".md") }.sorted()
        #expect(articles.count >= 6, "a landing page and five articles")
        var used: Set<String> = []
        var blockCount = 0
        for article in articles {
            let text = try String(contentsOf: catalog.appendingPathComponent(article), encoding: .utf8)
            for block in Self.swiftBlocks(text) {
                blockCount += 1
                let match = samples.first { $0.value == block }
                #expect(match != nil, "\(article): a swift block is not a sample compiled by the tests:\n\(block)")
                if let match { used.insert(match.key) }
            }
        }
        #expect(blockCount >= 8)
        #expect(used == Set(samples.keys), "samples no article shows: \(Set(samples.keys).subtracting(used).sorted())")
    }
}

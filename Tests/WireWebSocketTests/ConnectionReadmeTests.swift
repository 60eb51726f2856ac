import Foundation
import HTTPTypes
import Testing
import WireCore
import WireWebSocket

/// The README's connection sample (section "Handshake and connection"), compiled and run here.
/// `readmeBlockMatchesThisFile` keeps the two identical: edit both together.
@Suite struct ConnectionReadmeTests {
    final class Transport {
        var written: [UInt8] = []
        var closed = false
        func write(_ bytes: [UInt8]) { written += bytes }
        func close() { closed = true }
    }

    @Test func sampleRuns() throws {
        var client = WebSocketConnection(client: clientHandshake(subprotocols: ["chat"], origin: "http://example.com"))
        var bytesFromTheTransport = client.takeOutbound()
        bytesFromTheTransport += frame(.text, Array("hello".utf8), masked: true)
        bytesFromTheTransport += frame(.close, closePayload(1000), masked: true)
        let transport = Transport()
        // README connection begin
        var server = WebSocketConnection(server: WebSocketServerPolicy(origins: .sameOrigin, subprotocols: ["chat"]))
        server.receive(bytesFromTheTransport.span)
        while let event = try server.nextEvent() {
            switch event {
            case .upgradeRequest(let upgrade):
                if upgrade.request.path == "/chat" { try server.accept() } else { try server.reject(status: .notFound) }
            case .text(let text): try server.send(.text(text))              // echo
            case .binary(let bytes): try server.send(.binary(bytes))
            case .closed(let closure): print("closed", closure.code)        // 1000, 1006, ...
            default: break                                                   // pings are answered for you
            }
        }
        transport.write(server.takeOutbound())
        if server.transport == .closeNow { transport.close() }
        // README connection end
        #expect(transport.closed)
        let seen = feed(&client, transport.written)
        #expect(seen.prefix(2) == [.event(.accepted(WebSocketNegotiation(subprotocol: "chat"))), .event(.text("hello"))])
    }

    @Test func readmeBlockMatchesThisFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let section = try #require(readme.range(of: "### Handshake and connection"))
        let after = readme[section.upperBound...]
        let open = try #require(after.range(of: "```swift\n"))
        let close = try #require(after[open.upperBound...].range(of: "```"))
        let readmeLines = after[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let begin = try #require(source.range(of: "// README connection begin\n"))
        let end = try #require(source.range(of: "        // README connection end"))
        let codeLines = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }
        #expect(readmeLines == codeLines)
    }
}

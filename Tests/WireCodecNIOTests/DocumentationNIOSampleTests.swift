import HTTPTypes
import Testing
import WireCodec
import WireCodecNIO

/// The code of the DocC article on the NIO transport (`Sources/WireCodec/WireCodec.docc/NIOTransport.md`),
/// compiled here; `DocumentationSampleTests/articlesMatchTheirSamples()` checks that the article
/// shows exactly these lines. The server is built, not run (the transport's own suites run it).
@Suite struct DocumentationNIOSampleTests {
    static func makeServer() -> WireServer {
        // docc: nio-server begin
        let server = WireServer(configuration: .init(host: "127.0.0.1", port: 8080)) { request, response in
            let body = "hello from \(request.path)\n"
            try await response.send(HTTPResponse(status: .ok, headerFields: [.contentLength: "\(body.utf8.count)"]), body: body)
        } webSocket: { upgrade in
            guard upgrade.path == "/echo" else { return .reject(.notFound) }
            return .accept { webSocket in
                for try await message in webSocket.inbound {      // ends at the close
                    try await webSocket.outbound.send(message)   // echo
                }
            }
        }
        // try await server.run()   (until server.shutdownGracefully(), or inside a ServiceGroup)
        // docc: nio-server end
        return server
    }

    static func connect() async throws {
        // docc: nio-client begin
        var configuration = WebSocketClient.Configuration()
        configuration.deflate = PerMessageDeflateClientOffer()
        let client = try WebSocketClient(url: "ws://127.0.0.1:8080/echo", configuration: configuration)
        let closure = try await client.connect { ws in
            try await ws.outbound.send(text: "hello")
            for try await message in ws.inbound {
                print(message)                                    // the echo
                break
            }
        }
        print(closure.code)                                       // 1000 once both closes were exchanged
        // docc: nio-client end
    }

    @Test func samplesBuild() {
        let server = Self.makeServer()
        #expect(server.listeningAddress == nil)    // built, not bound
        _ = Self.connect                            // compiled, not run
    }
}

import Foundation
import Testing
import WireCodec    // alone: it re-exports HTTPTypes too (HTTPResponse below)

/// The README's quick-start sample, compiled and run here. `readmeBlockMatchesThisFile` keeps
/// the two identical: edit both together.
@Suite struct QuickStartTests {
    @Test func quickStartRuns() throws {
        // README quick-start begin
        // Parse a request: bytes from any transport, events out.
        let bytes = Array("GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n".utf8)
        var parser = HTTP1Parser(parsing: .request)
        let step = try parser.parse(bytes.span)
        guard case .requestHead(let head)? = step.event else { fatalError("feed more bytes") }
        let request = try head.httpRequest(scheme: "http")
        print(request.method, request.path ?? "")  // GET /hello

        // Serialize a response into a buffer you own (no allocation once it has capacity).
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        out.reserveCapacity(256)
        let body = Array("hi\n".utf8)
        let response = HTTPResponse(status: .ok, headerFields: [.contentLength: "\(body.count)"])
        try serializer.writeHead(response, respondingTo: request.method, into: &out)
        try serializer.writeBody(body.span, into: &out)
        try serializer.writeEnd(into: &out)
        // out == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi\n"
        // README quick-start end
        #expect(request.path == "/hello")
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi\n")
    }

    @Test func readmeBlockMatchesThisFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)

        let section = try #require(readme.range(of: "<!-- section: quick-start -->"))
        let afterSection = readme[section.upperBound...]
        let open = try #require(afterSection.range(of: "```swift\n"))
        let close = try #require(afterSection[open.upperBound...].range(of: "```"))
        let block = afterSection[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0) }
        // One import is enough: the umbrella re-exports the codec modules and HTTPTypes.
        #expect(block.filter { $0.hasPrefix("import ") } == ["import WireCodec"])
        let readmeLines = block.filter { !$0.hasPrefix("import ") }.drop { $0.isEmpty }

        let begin = try #require(source.range(of: "// README quick-start begin\n"))
        let end = try #require(source.range(of: "        // README quick-start end"))
        let codeLines = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }

        #expect(Array(readmeLines) == codeLines)
    }
}

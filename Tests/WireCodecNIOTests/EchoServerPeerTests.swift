import Foundation
import Testing

/// `wirecodec-echo-server` against WebSocket peers nobody here wrote: Python `websockets` and
/// headless Chromium. Skipped (visibly) when a peer is missing, unless `WIRECODEC_REQUIRE_PEERS`
/// is set, as `Tests/Scripts/test-all.sh` does.
@Suite(.serialized) struct EchoServerPeerTests {
    static let python = Paths.which("python3")
    static let chromium = Paths.which("chromium")
    static let conformance = Paths.root.appendingPathComponent("Tests/Conformance")

    static var pythonHasWebsockets: Bool {
        guard let python else { return false }
        return (try? runProcess(python, ["-c", "import websockets"], timeout: 30).status) == 0
    }

    struct DeflateCase: Sendable, CustomTestStringConvertible {
        var offer: String
        var serverFlags: [String]
        var expectedAnswer: String?
        var testDescription: String { "offer \(offer) to a server with \(serverFlags.isEmpty ? "deflate" : serverFlags.joined())" }
    }

    /// Every permessage-deflate parameter the client offers is honoured in the answer.
    static let deflateCases = [
        DeflateCase(offer: "none", serverFlags: [], expectedAnswer: nil),
        DeflateCase(offer: "default", serverFlags: [], expectedAnswer: "permessage-deflate"),
        DeflateCase(offer: "default", serverFlags: ["--no-deflate"], expectedAnswer: nil),
        DeflateCase(
            offer: "server_max_window_bits=10,client_max_window_bits=9,server_no_context_takeover,client_no_context_takeover",
            serverFlags: [],
            expectedAnswer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"),
        DeflateCase(offer: "client_max_window_bits=12", serverFlags: [], expectedAnswer: "permessage-deflate; client_max_window_bits=12"),
        DeflateCase(offer: "server_max_window_bits=15", serverFlags: [], expectedAnswer: "permessage-deflate; server_max_window_bits=15"),
        // Hibernation forced (issue 19): the server's deflate streams sleep after every message
        // they compress or inflate and wake from their last window at the next one, with context
        // takeover on both sides, so every echo crosses a wake-up in each direction.
        DeflateCase(offer: "default", serverFlags: ["--hibernate-after-every-message"], expectedAnswer: "permessage-deflate"),
        DeflateCase(
            offer: "server_max_window_bits=10,client_max_window_bits=9",
            serverFlags: ["--hibernate-after-every-message"],
            expectedAnswer: "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"),
    ]

    @Test(arguments: deflateCases)
    func pythonWebsocketsClientGetsEveryMessageBack(_ c: DeflateCase) throws {
        guard requirePeer(Self.pythonHasWebsockets, "python3 with websockets"), let python = Self.python else { return }
        let server = try EchoServerProcess(c.serverFlags)
        let script = Self.conformance.appendingPathComponent("websockets_client.py").path
        let result = try runProcess(python, [script, "\(server.wsURL)/python", "--deflate", c.offer], timeout: 90)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        #expect(report?["ok"] as? Bool == true)
        #expect(report?["echoes"] as? Int == 9)
        #expect(report?["extensions"] as? String == c.expectedAnswer)
        #expect(server.stop() == 0)
    }

    /// Headless Chromium loads the test page, echoes text and binary messages up to 1 MiB over
    /// permessage-deflate (offered by the browser with client_max_window_bits), and closes with
    /// 4001; the page's report is checked here, and the capture shows the browser's offer. Run
    /// once as deployed and once with the server's deflate streams hibernating after every
    /// message (issue 19: the browser's context-takeover stream is inflated by a stream that has
    /// just woken from its last window, and the browser inflates what such a stream compressed).
    @Test(arguments: [false, true])
    func chromiumPageEchoesThroughTheServer(hibernating: Bool) throws {
        guard requirePeer(Self.chromium != nil && Self.pythonHasWebsockets, "chromium and python3 with websockets"),
            let python = Self.python, let chromium = Self.chromium
        else { return }
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-chromium-\(getpid())-\(hibernating)")
        try FileManager.default.createDirectory(at: capture, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: capture) }
        let server = try EchoServerProcess(["--capture", capture.path] + (hibernating ? ["--hibernate-after-every-message"] : []))
        let script = Self.conformance.appendingPathComponent("chromium/run_chromium.py").path
        let result = try runProcess(python, [script, "\(server.httpURL)/", "--chromium", chromium], timeout: 150)
        #expect(server.stop() == 0)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let page = report?["result"] as? [String: Any]
        #expect(page?["ok"] as? Bool == true, "\(result.text)")
        #expect(page?["extensions"] as? String == "permessage-deflate")
        let messages = page?["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 14)
        #expect(messages.allSatisfy { $0["ok"] as? Bool == true })
        #expect(messages.contains { $0["kind"] as? String == "binary" && $0["size"] as? Int == 1 << 20 })
        let close = page?["close"] as? [String: Any]
        #expect(close?["code"] as? Int == 4001)
        #expect(close?["wasClean"] as? Bool == true)

        // The browser's Upgrade request, as captured on our side of the socket.
        let names = try FileManager.default.contentsOfDirectory(atPath: capture.path).filter { $0.hasSuffix(".client.raw") }
        let heads = try names.map { String(decoding: try Data(contentsOf: capture.appendingPathComponent($0)).prefix(4096), as: UTF8.self) }
        let upgrade = heads.first { $0.contains("\r\nUpgrade: websocket\r\n") }
        #expect(upgrade?.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n") == true)
    }
}

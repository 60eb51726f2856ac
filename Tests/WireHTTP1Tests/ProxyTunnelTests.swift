import HTTPTypes
import Testing
import TestSupport
import WireHTTP1

/// `HTTP1ProxyTunnel`: the client's CONNECT (RFC 9110 §9.3.6).
struct ProxyTunnelTests {
    /// Feeds `answer` to a fresh tunnel in the given pieces, then EOF if asked; returns what the
    /// tunnel made of it.
    static func run(
        _ pieces: [ArraySlice<UInt8>], eof: Bool = false, credentials: HTTPBasicCredentials? = nil
    ) throws(HTTPProxyError) -> HTTP1ProxyTunnel.Established? {
        var tunnel = try HTTP1ProxyTunnel(target: "example.com:443", credentials: credentials)
        _ = tunnel.takeOutbound()
        for piece in pieces {
            tunnel.receive(Array(piece).span)
            if let established = try tunnel.nextEvent() { return established }
        }
        if eof {
            tunnel.receiveEOF()
            return try tunnel.nextEvent()
        }
        return nil
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func requestIsAuthorityForm() throws {
        var tunnel = try HTTP1ProxyTunnel(target: "example.com:443")
        #expect(String(decoding: tunnel.takeOutbound(), as: UTF8.self) == "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        #expect(tunnel.takeOutbound().isEmpty)
        #expect(tunnel.state == .awaitingResponse)
    }

    @Test func credentialsGoInProxyAuthorization() throws {
        let credentials = HTTPBasicCredentials(username: "Aladdin", password: "open sesame")
        var tunnel = try HTTP1ProxyTunnel(
            target: "[::1]:9001", credentials: credentials, headerFields: [.userAgent: "wirecodec", .proxyAuthorization: "Bearer x"])
        #expect(String(decoding: tunnel.takeOutbound(), as: UTF8.self)
            == "CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nUser-Agent: wirecodec\r\n\r\n")
    }

    @Test func tunnelToAURLThroughAProxy() throws {
        let proxy = try HTTPProxy(parsing: "http://u:p@proxy:3128")
        var tunnel = try HTTP1ProxyTunnel(to: try WireURL("wss://example.com/chat"), through: proxy)
        let request = String(decoding: tunnel.takeOutbound(), as: UTF8.self)
        #expect(request.hasPrefix("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic dTpw\r\n"))
    }

    @Test(arguments: ["example.com", "example.com:", "exa mple.com:80", ":80", "example.com:70000", "[::1:80"])
    func targetMustBeHostAndPort(_ target: String) {
        #expect(throws: HTTPProxyError.self) { try HTTP1ProxyTunnel(target: target) }
    }

    /// A 2xx opens the tunnel; the bytes after its head are the target's, under every split.
    @Test func establishedWithLeftoverUnderEverySplit() throws {
        let answer = Self.bytes("HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n") + [0x16, 0x03, 0x01, 0x00, 0x05]
        let headLength = answer.count - 5
        for pieces in Chunkings.standard(of: answer) {
            let established = try #require(try Self.run(pieces))
            #expect(established.response.status.code == 200)
            #expect(established.response.headerFields[HTTPField.Name("Proxy-Agent")!] == "test")
            // The leftover is whatever came with the piece that completed the head; the rest
            // arrives later through the same transport, so the two together are the tail.
            let consumedUpTo = pieces.reduce(into: (0, false)) { acc, piece in
                if !acc.1 { acc.0 += piece.count; if acc.0 >= headLength { acc.1 = true } }
            }.0
            #expect(established.leftover == Array(answer[headLength..<consumedUpTo]))
        }
    }

    /// §9.3.6: "A client MUST ignore any Content-Length or Transfer-Encoding header fields
    /// received in a successful response to CONNECT."
    @Test func framingOfA2xxIsIgnored() throws {
        let answer = Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nTLS")
        let established = try #require(try Self.run([answer[...]]))
        #expect(established.leftover == Self.bytes("TLS"))
        let chunked = Self.bytes("HTTP/1.1 204 Tunnel\r\nTransfer-Encoding: chunked\r\n\r\nxyz")
        #expect(try Self.run([chunked[...]])?.leftover == Self.bytes("xyz"))
    }

    @Test func interimAnswersAreSkipped() throws {
        let answer = Self.bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")
        #expect(try Self.run([answer[...]])?.leftover == [])
    }

    /// RFC 9110 §15.5.8, §11.7.1: a 407 comes back with every challenge.
    @Test func proxyAuthenticationRequired() throws {
        let answer = Self.bytes(
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\", charset=\"UTF-8\"\r\n"
                + "Proxy-Authenticate: Negotiate\r\nContent-Length: 5\r\n\r\ndenied")
        for credentials in [nil, HTTPBasicCredentials(username: "a", password: "b")] {
            let error = try #require(throws: HTTPProxyError.self) { try Self.run([answer[...]], credentials: credentials) }
            #expect(error.code == .proxyAuthenticationRequired)
            #expect(error.status == 407)
            #expect(error.proxyAuthenticate == ["Basic realm=\"corp\", charset=\"UTF-8\"", "Negotiate"])
            #expect(error.credentialsSent == (credentials != nil))
            #expect(error.description.hasPrefix("proxy-authentication-required: 407 Proxy Authentication Required (Proxy-Authenticate: Basic"))
        }
    }

    @Test(arguments: [(403, "Forbidden"), (502, "Bad Gateway"), (301, "Moved"), (404, "Not Found"), (500, "")])
    func otherStatusesRefuse(_ status: Int, _ reason: String) throws {
        let answer = Self.bytes("HTTP/1.1 \(status) \(reason)\r\nContent-Length: 0\r\n\r\n")
        let error = try #require(throws: HTTPProxyError.self) { try Self.run([answer[...]]) }
        #expect(error.code == .tunnelRefused && error.status == status && error.reason == reason)
    }

    @Test func switchingProtocolsIsAnError() throws {
        let answer = Self.bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        let error = try #require(throws: HTTPProxyError.self) { try Self.run([answer[...]]) }
        #expect(error.code == .unexpectedProtocolSwitch || error.code == .malformedResponse)
    }

    @Test(arguments: ["SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Field\r\n\r\n", "\u{16}\u{03}\u{01}garbage\r\n\r\n"])
    func malformedAnswers(_ text: String) throws {
        let error = try #require(throws: HTTPProxyError.self) { try Self.run([Self.bytes(text)[...]], eof: true) }
        #expect(error.code == .malformedResponse)
        #expect(error.http != nil)
    }

    @Test(arguments: ["", "HTTP/1.1 200 Conn", "HTTP/1.1 200 OK\r\nX: y\r\n"])
    func proxyClosingEarly(_ text: String) throws {
        let error = try #require(throws: HTTPProxyError.self) { try Self.run([Self.bytes(text)[...]], eof: true) }
        #expect(error.code == .connectionClosed || error.code == .malformedResponse)
    }

    @Test func failureIsSticky() throws {
        var tunnel = try HTTP1ProxyTunnel(target: "h:1")
        tunnel.receive(Self.bytes("HTTP/1.1 403 No\r\n\r\n").span)
        #expect(throws: HTTPProxyError.self) { try tunnel.nextEvent() }
        tunnel.receive(Self.bytes("HTTP/1.1 200 OK\r\n\r\n").span)
        #expect(throws: HTTPProxyError.self) { try tunnel.nextEvent() }
        if case .failed(let error) = tunnel.state {
            #expect(error.code == .tunnelRefused)
        } else {
            Issue.record("the tunnel should be failed: \(tunnel.state)")
        }
    }

    @Test func nothingAfterEstablished() throws {
        var tunnel = try HTTP1ProxyTunnel(target: "h:1")
        tunnel.receive(Self.bytes("HTTP/1.1 200 OK\r\n\r\n").span)
        #expect(try tunnel.nextEvent() != nil)
        #expect(try tunnel.nextEvent() == nil)
        #expect(tunnel.state == .established)
    }
}

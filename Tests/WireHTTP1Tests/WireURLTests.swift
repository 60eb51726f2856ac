import Testing
import WireHTTP1

struct WireURLTests {
    @Test func partsOfAWebSocketURL() throws {
        let url = try WireURL("wss://Example.COM/chat?room=1")
        #expect(url.scheme == "wss")
        #expect(url.host == "example.com")
        #expect(url.port == nil && url.effectivePort == 443 && url.isSecure)
        #expect(url.hostHeader == "example.com")
        #expect(url.requestTarget == "/chat?room=1")
        #expect(url.connectAuthority == "example.com:443")
        #expect(!url.hostIsIPAddress)
    }

    @Test func portsAndDefaults() throws {
        #expect(try WireURL("ws://h:80/").hostHeader == "h")          // the default port is not written
        #expect(try WireURL("ws://h:8080/").hostHeader == "h:8080")
        #expect(try WireURL("http://h:/x").port == nil)                 // RFC 3986: an empty port
        #expect(try WireURL("HTTP://h").path == "/")
        #expect(try WireURL("http://h?q").requestTarget == "/?q")
        #expect(try WireURL("https://h").effectivePort == 443)
        #expect(try WireURL("foo://h").effectivePort == nil)
    }

    @Test func ipv6Hosts() throws {
        let url = try WireURL("ws://[::1]:9001/x")
        #expect(url.host == "::1" && url.port == 9001 && url.hostIsIPAddress)
        #expect(url.hostHeader == "[::1]:9001")
        #expect(url.connectAuthority == "[::1]:9001")
        #expect(try WireURL("http://[2001:DB8::1]/").hostHeader == "[2001:db8::1]")
    }

    @Test func userinfoIsPercentDecoded() throws {
        let url = try WireURL("http://al%40ice:s%3Acret@proxy:3128")
        #expect(url.user == "al@ice" && url.password == "s:cret")
        #expect(url.host == "proxy" && url.port == 3128)
        #expect(!url.description.contains("cret"))
    }

    @Test func targetOctetsAreEncoded() throws {
        let url = try WireURL("http://h/a b/é?x=ü y#frag")
        #expect(url.path == "/a%20b/%C3%A9")
        #expect(url.query == "x=%C3%BC%20y")
        #expect(url.fragment == "frag")
        #expect(url.requestTarget == "/a%20b/%C3%A9?x=%C3%BC%20y")
    }

    @Test(arguments: [
        ("example.com/x", "invalid-scheme"), ("1http://h", "invalid-scheme"), ("http:/h", "missing-authority"),
        ("http:h", "missing-authority"), ("http://", "missing-host"), ("http:///x", "missing-host"), ("http://:80/", "missing-host"),
        ("http://h:65536/", "invalid-port"), ("http://h:8a/", "invalid-port"), ("http://h\r\nX: y/", "invalid-character"),
        ("http://h h/", "invalid-host"), ("http://h%41/", "invalid-host"), ("http://[::1/", "invalid-host"), ("http://[1.2.3.4]/", "invalid-host"),
        ("http://[::1]x/", "invalid-host"), ("http://u%4@h/", "invalid-percent-encoding"), ("http://u%ff@h/", "invalid-percent-encoding"),
    ])
    func errors(_ text: String, _ code: String) {
        #expect(throws: WireURLError.self) { try WireURL(text) }
        do {
            _ = try WireURL(text)
        } catch {
            #expect(error.code.name == code)
        }
    }

    /// RFC 3986 §5.4: the resolution examples, base `http://a/b/c/d;p?q` (only those with an
    /// authority: every result of ours has a host).
    @Test(arguments: [
        ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"), ("/g", "http://a/g"),
        ("//g", "http://g/"), ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q"),
        ("g#s", "http://a/b/c/g"), ("g?y#s", "http://a/b/c/g?y"), (";x", "http://a/b/c/;x"), ("g;x", "http://a/b/c/g;x"),
        ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"), ("./", "http://a/b/c/"), ("..", "http://a/b/"),
        ("../", "http://a/b/"), ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../", "http://a/"), ("../../g", "http://a/g"),
        // §5.4.2, abnormal examples.
        ("../../../g", "http://a/g"), ("../../../../g", "http://a/g"), ("/./g", "http://a/g"), ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."), (".g", "http://a/b/c/.g"), ("g..", "http://a/b/c/g.."), ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"), ("./g/.", "http://a/b/c/g/"), ("g/./h", "http://a/b/c/g/h"), ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"), ("g;x=1/../y", "http://a/b/c/y"), ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("https://other:8443/z", "https://other:8443/z"),
    ])
    func resolution(_ reference: String, _ expected: String) throws {
        let base = try WireURL("http://a/b/c/d;p?q")
        #expect(try base.resolving(reference).description == expected)
    }
}

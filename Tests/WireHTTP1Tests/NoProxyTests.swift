import Testing
import WireHTTP1

/// `no_proxy` matching (`HTTPProxyEnvironment.noProxyMatches(host:list:)`) as curl documents
/// it: `--noproxy`, `NO_PROXY` in curl(1) ENVIRONMENT, `CURLOPT_NOPROXY(3)`.
struct NoProxyTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var rule: String
        var host: String
        var list: String
        var matches: Bool
        var testDescription: String { "\(rule): \(host) in \"\(list)\" → \(matches)" }
    }

    static let rows: [Row] = [
        // "The only wildcard is a single * character, which matches all hosts"
        Row(rule: "* alone matches every host", host: "example.com", list: "*", matches: true),
        Row(rule: "* alone matches an address", host: "10.1.2.3", list: "*", matches: true),
        Row(rule: "* alone matches an IPv6 address", host: "::1", list: "*", matches: true),
        Row(rule: "* is only a wildcard alone", host: "example.com", list: "localhost,*", matches: false),
        Row(rule: "no wildcard inside names", host: "www.example.com", list: "*.example.com", matches: false),
        // CURLOPT_NOPROXY: "ample.com" would match ample.com, ample.com:80, and www.ample.com,
        // but not www.example.com or ample.com.org.
        Row(rule: "exact host", host: "ample.com", list: "ample.com", matches: true),
        Row(rule: "subdomain of a listed domain", host: "www.ample.com", list: "ample.com", matches: true),
        Row(rule: "suffix without a dot boundary", host: "www.example.com", list: "ample.com", matches: false),
        Row(rule: "listed name followed by more labels", host: "ample.com.org", list: "ample.com", matches: false),
        // --noproxy: local.com matches local.com, www.local.com, not www.notlocal.com.
        Row(rule: "manual: local.com", host: "local.com", list: "local.com", matches: true),
        Row(rule: "manual: www.local.com", host: "www.local.com", list: "local.com", matches: true),
        Row(rule: "manual: not www.notlocal.com", host: "www.notlocal.com", list: "local.com", matches: false),
        Row(rule: "deeper subdomain", host: "a.b.local.com", list: "local.com", matches: true),
        Row(rule: "a longer entry never matches", host: "local.com", list: "www.local.com", matches: false),
        // "Each name in this list is matched as either a domain which contains the hostname,
        // or the hostname itself": a leading dot names the domain, and the domain itself.
        Row(rule: "leading dot: subdomain", host: "www.example.com", list: ".example.com", matches: true),
        Row(rule: "leading dot: the domain itself", host: "example.com", list: ".example.com", matches: true),
        Row(rule: "leading dot: no partial label", host: "nonexample.com", list: ".example.com", matches: false),
        Row(rule: "trailing dot of the host ignored", host: "www.example.com.", list: ".example.com", matches: true),
        Row(rule: "trailing dot of the entry ignored", host: "www.example.com", list: "example.com.", matches: true),
        Row(rule: "names compare without case", host: "WWW.Example.COM", list: "example.com", matches: true),
        Row(rule: "entries compare without case", host: "www.example.com", list: "EXAMPLE.com", matches: true),
        // "comma-separated list"
        Row(rule: "second entry", host: "b.example", list: "a.example,b.example", matches: true),
        Row(rule: "blanks after commas", host: "b.example", list: "a.example, b.example", matches: true),
        Row(rule: "tabs and repeated commas", host: "b.example", list: "a.example,,\t, b.example ,", matches: true),
        Row(rule: "blanks without a comma end the list", host: "b.example", list: "a.example b.example", matches: false),
        Row(rule: "first of blank-separated entries", host: "a.example", list: "a.example b.example", matches: true),
        Row(rule: "empty list", host: "example.com", list: "", matches: false),
        Row(rule: "only commas", host: "example.com", list: ",,,", matches: false),
        // "The list of hostnames can also include numerical IP addresses, and IPv6 versions
        // should then be given without enclosing brackets."
        Row(rule: "IPv4 exact", host: "127.0.0.1", list: "localhost,127.0.0.1", matches: true),
        Row(rule: "IPv4 different", host: "127.0.0.2", list: "127.0.0.1", matches: false),
        Row(rule: "IPv4 is not matched as a name suffix", host: "10.0.0.1", list: "0.0.1", matches: false),
        Row(rule: "host names never match an address", host: "127.0.0.1", list: "localhost", matches: false),
        Row(rule: "addresses never match a host name", host: "localhost", list: "127.0.0.1", matches: false),
        Row(rule: "IPv6 exact", host: "::1", list: "example.com,::1,localhost", matches: true),
        Row(rule: "IPv6 other spelling of the same address", host: "::1", list: "0:0:0:0:0:0:0:1", matches: true),
        Row(rule: "IPv6 in brackets in the list does not match", host: "::1", list: "[::1]", matches: false),
        Row(rule: "IPv6 host given with brackets", host: "[::1]", list: "::1", matches: true),
        Row(rule: "IPv4 entry never matches an IPv6 host", host: "::ffff:127.0.0.1", list: "127.0.0.1", matches: false),
        // "IP addresses can be specified using CIDR notation: an appended slash and number
        // specifies the number of network bits ... "192.168.0.0/16" would match all addresses
        // starting with "192.168"."
        Row(rule: "CIDR /16", host: "192.168.7.9", list: "192.168.0.0/16", matches: true),
        Row(rule: "CIDR /16 outside", host: "192.169.0.1", list: "192.168.0.0/16", matches: false),
        Row(rule: "CIDR /24", host: "192.168.0.200", list: "192.168.0.0/24", matches: true),
        Row(rule: "CIDR /24 outside", host: "192.168.1.1", list: "192.168.0.0/24", matches: false),
        Row(rule: "CIDR /8", host: "10.200.3.4", list: "10.0.0.0/8", matches: true),
        Row(rule: "CIDR /32 is the address", host: "192.168.0.1", list: "192.168.0.1/32", matches: true),
        Row(rule: "CIDR /32 other address", host: "192.168.0.1", list: "192.168.0.0/32", matches: false),
        Row(rule: "CIDR /0 is read as the whole address", host: "192.168.0.1", list: "0.0.0.0/0", matches: false),
        Row(rule: "CIDR /33 never matches", host: "192.168.0.1", list: "192.168.0.1/33", matches: false),
        Row(rule: "CIDR bits must be digits", host: "192.168.0.1", list: "192.168.0.0/16a", matches: false),
        Row(rule: "CIDR slash without bits", host: "192.168.0.1", list: "192.168.0.0/", matches: false),
        Row(rule: "CIDR with a blank after it", host: "192.168.0.1", list: "192.168.0.0/16 ", matches: true),
        Row(rule: "CIDR among names", host: "192.168.1.1", list: "foo, bar, 192.168.0.0/16", matches: true),
        Row(rule: "CIDR host bits set in the network", host: "172.16.5.4", list: "172.16.99.99/12", matches: true),
        Row(rule: "IPv6 CIDR /32", host: "2001:db8:1::5", list: "2001:db8::/32", matches: true),
        Row(rule: "IPv6 CIDR /32 outside", host: "2001:db9::5", list: "2001:db8::/32", matches: false),
        Row(rule: "IPv6 CIDR /10", host: "fe80::1234", list: "fe80::/10", matches: true),
        Row(rule: "IPv6 CIDR /65 boundary", host: "2001:db8:0:0:8000::1", list: "2001:db8::/65", matches: false),
        Row(rule: "IPv6 CIDR /64", host: "2001:db8::8000:0:0:1", list: "2001:db8::/64", matches: true),
        Row(rule: "IPv6 CIDR /128", host: "::1", list: "::1/128", matches: true),
        Row(rule: "IPv6 CIDR /129 never matches", host: "::1", list: "::1/129", matches: false),
        Row(rule: "IPv6 CIDR /0 is the whole address", host: "::2", list: "::/0", matches: false),
        // Not an address to inet_pton: a name.
        Row(rule: "leading zeros make a name, not an address", host: "010.0.0.1", list: "0.0.1", matches: true),
    ]

    @Test(arguments: rows)
    func matching(_ row: Row) {
        #expect(HTTPProxyEnvironment.noProxyMatches(host: row.host, list: row.list) == row.matches)
    }

    /// The IP literal parser behind the address rows accepts exactly `inet_pton`'s forms.
    @Test(arguments: [
        ("127.0.0.1", true), ("255.255.255.255", true), ("256.0.0.1", false), ("1.2.3", false), ("1.2.3.4.5", false),
        ("01.2.3.4", false), ("0.0.0.0", true), ("1..2.3", false), ("::", true), ("::1", true), ("1::", true),
        ("1:2:3:4:5:6:7:8", true), ("1:2:3:4:5:6:7:8:9", false), ("1:2:3:4:5:6:7::", true), ("1:2:3:4:5:6:7:8::", false),
        (":1", false), ("1:", false), ("1:::2", false), ("1::2::3", false), ("::ffff:1.2.3.4", true), ("::1.2.3", false),
        ("12345::", false), ("fe80::1%eth0", false), ("g::1", false),
    ])
    func ipLiterals(_ text: String, _ valid: Bool) {
        #expect((IPAddressLiteral(text) != nil) == valid)
    }
}

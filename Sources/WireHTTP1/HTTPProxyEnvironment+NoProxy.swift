extension HTTPProxyEnvironment {
    /// Whether `host` is in a `no_proxy` list, by curl's rules (`--noproxy`, `NO_PROXY`,
    /// `CURLOPT_NOPROXY`):
    ///
    /// - The list `*` alone matches every host (a `*` among other entries is an ordinary,
    ///   non-matching entry). An empty list matches nothing.
    /// - Entries are separated by commas, with blanks (space, tab) around them; blanks
    ///   without a comma end the list (`"a b"` is the single entry `a`).
    /// - A host name matches an entry equal to it, or an entry that is a domain containing it
    ///   at a dot boundary: `example.com` matches `example.com` and `www.example.com`, not
    ///   `notexample.com`. One leading dot of the entry is ignored (`.example.com` also
    ///   matches `example.com`), so is one trailing dot of the entry and of the host.
    ///   Comparison ignores ASCII case.
    /// - An IPv4 or IPv6 host is compared as an address, only with entries that are
    ///   addresses of the same family (IPv6 without brackets): equal, or within
    ///   `address/bits` (CIDR; `/0` means the whole address, as curl reads it; more bits than
    ///   the address has, or anything but digits after the slash, never match). Host names in
    ///   the list never match an address (nothing is resolved).
    /// - Ports are not part of entries: `example.com` matches the host whatever the URL's port.
    ///
    /// - Parameter host: the URL's host as in ``WireURL/host`` (IPv6 without brackets;
    ///   brackets are tolerated).
    public static func noProxyMatches(host: String, list: String) -> Bool {
        var name = Array(host.utf8)[...]
        if name.first == UInt8(ascii: "["), name.last == UInt8(ascii: "]") { name = name.dropFirst().dropLast() }
        let text = Array(list.utf8)
        guard !name.isEmpty, !text.isEmpty else { return false }
        if text == [UInt8(ascii: "*")] { return true }

        let address: IPAddressLiteral?
        if let v4 = IPAddressLiteral.parseV4(name) {
            address = .v4(v4)
        } else {
            address = IPAddressLiteral.parseV6(name)
            if address == nil && name.last == UInt8(ascii: ".") { name = name.dropLast() }
        }

        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        var p = 0
        while p < text.count {
            while p < text.count && isBlank(text[p]) { p += 1 }
            let start = p
            while p < text.count && !isBlank(text[p]) && text[p] != UInt8(ascii: ",") { p += 1 }
            let token = text[start..<p]
            if !token.isEmpty {
                let matched = address.map { matchesAddress($0, entry: token) } ?? matchesName(name, entry: token)
                if matched { return true }
            }
            while p < text.count && isBlank(text[p]) { p += 1 }
            guard p < text.count, text[p] == UInt8(ascii: ",") else { break }
            while p < text.count && text[p] == UInt8(ascii: ",") { p += 1 }
        }
        return false
    }

    /// A host name against one entry: equal, or the entry is a dot-bounded suffix.
    static func matchesName(_ name: ArraySlice<UInt8>, entry: ArraySlice<UInt8>) -> Bool {
        var token = entry
        if token.last == UInt8(ascii: ".") { token = token.dropLast() }
        if token.first == UInt8(ascii: ".") { token = token.dropFirst() }
        if token.count == name.count { return equalIgnoringCase(token, name) }
        guard token.count < name.count else { return false }
        let tail = name.suffix(token.count)
        return name[tail.startIndex - 1] == UInt8(ascii: ".") && equalIgnoringCase(token, tail)
    }

    /// An address against one entry: `address` or `address/bits`.
    static func matchesAddress(_ address: IPAddressLiteral, entry: ArraySlice<UInt8>) -> Bool {
        guard entry.count < 128 else { return false }
        var network = entry
        var bits = 0
        if let slash = entry.firstIndex(of: UInt8(ascii: "/")) {
            network = entry[entry.startIndex..<slash]
            let digits = entry[(slash + 1)...]
            guard !digits.isEmpty else { return false }
            for d in digits {
                guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return false }
                bits = bits * 10 + Int(d - UInt8(ascii: "0"))
                guard bits <= 128 else { return false }
            }
        }
        switch address {
        case .v4:
            guard bits <= 32, let n = IPAddressLiteral.parseV4(network) else { return false }
            return address.sharesPrefix(with: .v4(n), bits: bits == 0 ? 32 : bits)
        case .v6:
            guard let n = IPAddressLiteral.parseV6(network) else { return false }
            return address.sharesPrefix(with: n, bits: bits == 0 ? 128 : bits)
        }
    }

    static func equalIgnoringCase(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { WireURL.lowercased($0) == WireURL.lowercased($1) }
    }
}

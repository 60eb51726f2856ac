import WireCore

/// What the opening handshake settled (RFC 6455 §4): the subprotocol, if any, and the
/// permessage-deflate parameters, if that extension was agreed. Both ends build a
/// ``WebSocketConnection`` from it.
public struct WebSocketNegotiation: Sendable, Hashable, CustomStringConvertible {
    /// The subprotocol the server selected (`Sec-WebSocket-Protocol`), or `nil`.
    public var subprotocol: String?
    /// The agreed permessage-deflate parameters (RFC 7692), or `nil` when not negotiated.
    public var deflate: PerMessageDeflateParameters?

    public init(subprotocol: String? = nil, deflate: PerMessageDeflateParameters? = nil) {
        self.subprotocol = subprotocol
        self.deflate = deflate
    }

    public var description: String {
        "subprotocol \(subprotocol ?? "none"), permessage-deflate \(deflate.map { $0.description } ?? "off")"
    }
}

/// Constants and the key arithmetic of the opening handshake (RFC 6455 §4.1, §4.2.2).
package enum WebSocketHandshake {
    /// The GUID appended to the key before hashing (RFC 6455 §1.3).
    package static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    /// The only protocol version this library speaks (`Sec-WebSocket-Version`, §4.1, §11.6).
    package static let version = "13"

    /// `Sec-WebSocket-Accept` for `key`: base64 of the SHA-1 of the key's text followed by
    /// the GUID (§4.2.2 item 5.4). The key is used exactly as sent (no trimming).
    package static func acceptValue(forKey key: String) -> String {
        var sha = SHA1()
        sha.update(Array(key.utf8).span)
        sha.update(Array(guid.utf8).span)
        return Base64.encode(sha.finalize())
    }

    /// A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes (§4.1 item 7: "randomly
    /// selected"; RFC 6455 asks for a nonce, so a secure generator is the right default).
    package static func makeKey<R: RandomNumberGenerator>(using random: inout R) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let word = random.next()
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return Base64.encode(bytes)
    }

    /// Whether `key` is a valid `Sec-WebSocket-Key`: canonical base64 decoding to exactly 16
    /// bytes (§4.2.1 item 5, §11.3.1).
    package static func isValidKey(_ key: String) -> Bool {
        guard key.utf8.count == 24, let bytes = try? Base64.decode(key.utf8) else { return false }
        return bytes.count == 16
    }

    // MARK: Field lists (RFC 9110 §5.6.1)

    /// The elements of comma-separated list fields: every field line split at commas, optional
    /// whitespace trimmed, empty elements dropped (RFC 9110 §5.6.1 recipients' rule).
    static func listElements(_ values: [String]) -> [Substring] {
        var elements: [Substring] = []
        for value in values {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = trimWhitespace(part)
                if !trimmed.isEmpty { elements.append(trimmed) }
            }
        }
        return elements
    }

    /// Whether the list fields contain `token`, compared ASCII case-insensitively (parameters
    /// after `;` are not part of the token: `Upgrade: websocket;q=1` is unusual but matches
    /// nothing here, which keeps the check strict).
    static func listContains(_ values: [String], token lowercased: String) -> Bool {
        listElements(values).contains { equalsIgnoringCase($0, lowercased) }
    }

    static func trimWhitespace(_ text: Substring) -> Substring {
        var text = text
        while let first = text.utf8.first, first == 0x20 || first == 0x09 { text = text.dropFirst() }
        while let last = text.utf8.last, last == 0x20 || last == 0x09 { text = text.dropLast() }
        return text
    }

    static func equalsIgnoringCase(_ text: some StringProtocol, _ lowercased: String) -> Bool {
        guard text.utf8.count == lowercased.utf8.count else { return false }
        return zip(text.utf8, lowercased.utf8).allSatisfy { ASCII.lowercased($0) == $1 }
    }

    /// Whether `text` is a non-empty RFC 9110 token (subprotocol names are tokens, §4.1).
    static func isToken(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ASCII.isTokenCharacter($0) }
    }
}

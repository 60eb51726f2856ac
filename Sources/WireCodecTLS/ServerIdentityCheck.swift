import NIOCore
import NIOSSL
import NIOTLS

/// Checks, once the TLS handshake is done, that the server's certificate names the host the
/// client asked for (RFC 9525 §6.3: a DNS name matches a `dNSName` of the subject alternative
/// names, a wildcard standing for exactly one leftmost label), and holds every write back
/// until it does.
///
/// swift-nio-ssl's own check also accepts a certificate whose IP-address name is the address
/// the client connected to, whatever name it asked for: a certificate for an address (public
/// CAs issue them) would then pass for any host name resolved to that address. This handler,
/// added after the `NIOSSLClientHandler` by ``TLSClientConfiguration``, closes that gap: on a
/// mismatch the writes fail with ``TLSServerIdentityError`` and the channel closes before a
/// byte of the application's is sent.
final class ServerIdentityCheck: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let hostname: String
    private var held: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var flushHeld = false
    private var verified = false

    init(hostname: String) {
        self.hostname = hostname
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The handlers after this one (an ALPN handler) see the handshake end only when the
        // name matched; this handler leaves the pipeline after passing the event on (a removed
        // context passes nothing on).
        guard verify(context: context) else { return }
        context.fireUserInboundEventTriggered(event)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Whether the certificate names the host; if not, the held writes fail, the error goes
    /// down the pipeline and the channel closes.
    private func verify(context: ChannelHandlerContext) -> Bool {
        let names: [String]
        do {
            let certificate = try context.pipeline.syncOperations.nioSSL_peerCertificate()
            names = try certificate.map { try ServerIdentity.dnsNames(inDER: $0.toDERBytes()) } ?? []
        } catch {
            names = []
        }
        guard ServerIdentity.matches(hostname: hostname, dnsNames: names) else {
            let error = TLSServerIdentityError(hostname: hostname, names: names)
            for (_, promise) in held { promise?.fail(error) }
            held = []
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return false
        }
        verified = true
        for (data, promise) in held { context.write(data, promise: promise) }
        held = []
        if flushHeld { context.flush() }
        return true
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if verified {
            context.write(data, promise: promise)
        } else {
            held.append((data, promise))
        }
    }

    func flush(context: ChannelHandlerContext) {
        if verified { context.flush() } else { flushHeld = true }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for (_, promise) in held { promise?.fail(ChannelError.ioOnClosedChannel) }
        held = []
    }
}

/// The server's certificate does not name the host the client asked for.
public struct TLSServerIdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The host name the client asked for.
    public var hostname: String
    /// The DNS names the certificate holds.
    public var names: [String]

    public var description: String {
        "TLSServerIdentityError(\(hostname) is not among the certificate's DNS names \(names))"
    }
}

/// RFC 9525 name matching and the little DER reading it needs (the subject alternative names
/// extension, RFC 5280 §4.2.1.6).
enum ServerIdentity {
    /// Whether `hostname` (a DNS name, not an address) is one of `dnsNames`: equal ignoring
    /// ASCII case and a final dot, or matched by a `*.` wildcard standing for one whole
    /// leftmost label (`*.example.com` matches `a.example.com`, not `example.com` nor
    /// `a.b.example.com`).
    static func matches(hostname: String, dnsNames: [String]) -> Bool {
        let host = normalized(hostname)
        guard !host.isEmpty else { return false }
        for name in dnsNames.map(normalized) {
            if name == host { return true }
            if name.hasPrefix("*."), let dot = host.firstIndex(of: ".") {
                let suffix = name.dropFirst(1)  // ".example.com"
                // At least two labels after the wildcard, and one whole label for it.
                if suffix.dropFirst().contains("."), host[dot...] == suffix, dot > host.startIndex { return true }
            }
        }
        return false
    }

    private static func normalized(_ name: String) -> String {
        var lower = String(name.lowercased())
        if lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }

    /// The `dNSName`s of a DER certificate's subject alternative names (none when it has no
    /// such extension).
    static func dnsNames(inDER der: [UInt8]) throws(TLSCertificateParseError) -> [String] {
        var reader = DERReader(der[...])
        var certificate = try reader.enter(tag: 0x30)
        var tbs = try certificate.enter(tag: 0x30)
        while !tbs.isEmpty {
            let (tag, content) = try tbs.next()
            guard tag == 0xA3 else { continue }  // [3] extensions
            var wrapper = DERReader(content)
            var extensions = try wrapper.enter(tag: 0x30)
            while !extensions.isEmpty {
                var element = try extensions.enter(tag: 0x30)
                let (oidTag, oid) = try element.next()
                guard oidTag == 0x06, Array(oid) == [0x55, 0x1D, 0x11] else { continue }  // 2.5.29.17
                var (valueTag, value) = try element.next()
                if valueTag == 0x01 { (valueTag, value) = try element.next() }  // critical
                guard valueTag == 0x04 else { throw TLSCertificateParseError() }
                var octets = DERReader(value)
                var generalNames = try octets.enter(tag: 0x30)
                var names: [String] = []
                while !generalNames.isEmpty {
                    let (nameTag, name) = try generalNames.next()
                    if nameTag == 0x82 { names.append(String(decoding: name, as: UTF8.self)) }  // [2] dNSName
                }
                return names
            }
        }
        return []
    }
}

/// A certificate whose DER could not be read.
struct TLSCertificateParseError: Error {}

/// Reads DER TLVs (X.690 §8.1: one-byte tags, definite lengths).
struct DERReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    var isEmpty: Bool { bytes.isEmpty }

    /// The next element's tag and content.
    mutating func next() throws(TLSCertificateParseError) -> (UInt8, ArraySlice<UInt8>) {
        guard let tag = bytes.first, bytes.count >= 2 else { throw TLSCertificateParseError() }
        var index = bytes.index(after: bytes.startIndex)
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), bytes.endIndex - index >= count else { throw TLSCertificateParseError() }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.endIndex - index >= length else { throw TLSCertificateParseError() }
        let content = bytes[index..<(index + length)]
        bytes = bytes[(index + length)...]
        return (tag, content)
    }

    /// The content of the next element, which must have `tag`.
    mutating func enter(tag expected: UInt8) throws(TLSCertificateParseError) -> DERReader {
        let (tag, content) = try next()
        guard tag == expected else { throw TLSCertificateParseError() }
        return DERReader(content)
    }
}

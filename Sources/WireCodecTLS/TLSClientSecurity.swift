public import NIOCore
import NIOSSL
import Synchronization
public import WireCodecNIO

/// TLS for `WireCodecNIO`'s clients (`WebSocketClient`, `EventSourceRunner`): a
/// ``TLSClientConfiguration`` whose context (trust roots loaded once) serves every connection.
///
/// ```swift
/// var connection = ClientConnectionConfiguration()
/// connection.security = try TLSClientSecurity(additionalTrustRootsPEMFiles: ["test-ca.pem"])
/// ```
///
/// SNI carries the host name (never an IP address, RFC 6066 §3) and the certificate must
/// match it; verification is always on unless the configuration says
/// ``TLSClientConfiguration/Verification/noneForTestingOnly``.
public struct TLSClientSecurity: ClientTransportSecurity {
    public let configuration: TLSClientConfiguration
    let context: NIOSSLContext
    /// Contexts for other ALPN lists (`["h2", "http/1.1"]`), made once each.
    private let alpnContexts = ContextCache()

    public init(_ configuration: TLSClientConfiguration = .systemDefault) throws {
        self.configuration = configuration
        context = try configuration.makeContext()
    }

    /// The system's roots plus the CA certificates in these PEM files, full verification.
    public init(additionalTrustRootsPEMFiles: [String]) throws {
        try self.init(TLSClientConfiguration(additionalTrustRootsPEMFiles: additionalTrustRootsPEMFiles))
    }

    public func makeClientHandlers(serverHostname: String) throws -> [any ChannelHandler] {
        try configuration.makeClientHandlers(context: context, serverHostname: serverHostname)
    }

    /// The same TLS (and name check), offering `applicationProtocols` by ALPN (a context per
    /// list, kept).
    public func makeClientHandlers(serverHostname: String, applicationProtocols: [String]) throws -> [any ChannelHandler] {
        guard applicationProtocols != configuration.applicationProtocols else {
            return try makeClientHandlers(serverHostname: serverHostname)
        }
        let context = try alpnContexts.contexts.withLock { contexts in
            if let context = contexts[applicationProtocols] { return context }
            var alpn = configuration
            alpn.applicationProtocols = applicationProtocols
            let context = try alpn.makeContext()
            contexts[applicationProtocols] = context
            return context
        }
        return try configuration.makeClientHandlers(context: context, serverHostname: serverHostname)
    }

    /// A certificate that does not verify (unknown issuer, expired, another name) or a
    /// handshake the server refused: retrying the same connection cannot help.
    public func isFatal(_ error: any Error) -> Bool {
        switch error {
        case NIOSSLError.handshakeFailed: true
        case is NIOSSLExtraError: true
        case NIOSSLError.unableToValidateCertificate, NIOSSLError.noCertificateToValidate, NIOSSLError.cannotMatchULabel: true
        case is TLSServerIdentityError: true
        default: false
        }
    }

    /// One line for a TLS error: `TLS handshake failed: CERTIFICATE_VERIFY_FAILED`.
    public func describe(_ error: any Error) -> String? {
        switch error {
        case NIOSSLError.handshakeFailed(let reason):
            return "TLS handshake failed: \(Self.reasons(reason))"
        case let error as NIOSSLError:
            return "TLS: \(error)"
        case let error as TLSServerIdentityError:
            return "TLS: the certificate does not name \(error.hostname) (it names \(error.names.joined(separator: ", ")))"
        case let error as NIOSSLExtraError:
            return "TLS: \(error)".split(whereSeparator: \.isNewline).map(String.init).joined(separator: " ")
        default:
            return nil
        }
    }

    /// The reason names in BoringSSL's error stack (`CERTIFICATE_VERIFY_FAILED`, ...).
    static func reasons(_ error: BoringSSLError) -> String {
        let text = "\(error)"
        var names: [String] = []
        var word = ""
        for character in text + " " {
            if character.isLetter || character.isNumber || character == "_" {
                word.append(character)
                continue
            }
            let isReason = word.count > 3 && word.contains("_")
                && word.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }
            if isReason && !names.contains(word) { names.append(word) }
            word = ""
        }
        if names.isEmpty { return text.split(whereSeparator: \.isNewline).map(String.init).joined(separator: " ") }
        return names.joined(separator: ", ")
    }
}

/// TLS contexts by ALPN list, shared by the copies of a ``TLSClientSecurity``.
final class ContextCache: Sendable {
    let contexts = Mutex<[[String]: NIOSSLContext]>([:])
}

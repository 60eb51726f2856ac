public import NIOCore
public import NIOSSL

/// TLS for a client (`wss://`, `https://`): the system's trust roots plus any extra CA
/// certificates, TLS 1.2 at least, ALPN, SNI, and the server's certificate verified against
/// the host name (or IP address) it was asked for.
///
/// ```swift
/// let tls = try TLSClientConfiguration(additionalTrustRootsPEMFiles: ["test-ca.pem"])
/// try tls.configureClientChannel(channel, serverHostname: "localhost")  // before the HTTP handlers
/// ```
///
/// Verification is always on, except through the explicitly named
/// ``Verification/noneForTestingOnly``. For a host name, the certificate must name it among its
/// DNS names (RFC 9525; stricter than swift-nio-ssl alone, which also accepts a certificate for
/// the connected IP address); for an IP address, among its IP addresses.
public struct TLSClientConfiguration: Sendable {
    /// How the server's certificate is checked.
    public enum Verification: Sendable, Hashable {
        /// The chain up to a trusted root, and the name (RFC 6125: `subjectAltName` DNS names,
        /// or IP addresses for an address). The default.
        case full
        /// Nothing: any certificate, any name. For tests against throwaway certificates only;
        /// it gives up what TLS is for (a man in the middle goes unnoticed).
        case noneForTestingOnly
    }

    /// Trust the system's roots (default `true`).
    public var useSystemTrustRoots: Bool
    /// More roots (a test CA, a private CA).
    public var additionalTrustRoots: [NIOSSLCertificate]
    public var verification: Verification
    /// ALPN offered, most preferred first (default `["http/1.1"]`).
    public var applicationProtocols: [String]
    /// The lowest TLS version accepted (default TLS 1.2).
    public var minimumTLSVersion: TLSVersion

    /// - Parameter additionalTrustRootsPEMFiles: PEM files of CA certificates to trust besides
    ///   the system's.
    public init(
        additionalTrustRootsPEMFiles: [String] = [], useSystemTrustRoots: Bool = true, verification: Verification = .full,
        applicationProtocols: [String] = ["http/1.1"], minimumTLSVersion: TLSVersion = .tlsv12
    ) throws {
        var roots: [NIOSSLCertificate] = []
        for file in additionalTrustRootsPEMFiles { roots += try NIOSSLCertificate.fromPEMFile(file) }
        self.init(
            additionalTrustRoots: roots, useSystemTrustRoots: useSystemTrustRoots, verification: verification,
            applicationProtocols: applicationProtocols, minimumTLSVersion: minimumTLSVersion)
    }

    public init(
        additionalTrustRoots: [NIOSSLCertificate], useSystemTrustRoots: Bool = true, verification: Verification = .full,
        applicationProtocols: [String] = ["http/1.1"], minimumTLSVersion: TLSVersion = .tlsv12
    ) {
        self.additionalTrustRoots = additionalTrustRoots
        self.useSystemTrustRoots = useSystemTrustRoots
        self.verification = verification
        self.applicationProtocols = applicationProtocols
        self.minimumTLSVersion = minimumTLSVersion
    }

    /// The system's roots, full verification.
    public static var systemDefault: TLSClientConfiguration { TLSClientConfiguration(additionalTrustRoots: []) }

    /// The swift-nio-ssl configuration these settings describe.
    public var nioConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = minimumTLSVersion
        configuration.applicationProtocols = applicationProtocols
        configuration.trustRoots = useSystemTrustRoots ? .default : .certificates([])
        configuration.additionalTrustRoots = additionalTrustRoots.isEmpty ? [] : [.certificates(additionalTrustRoots)]
        switch verification {
        case .full: configuration.certificateVerification = .fullVerification
        case .noneForTestingOnly: configuration.certificateVerification = .none
        }
        return configuration
    }

    /// A context to share between connections (building one loads the trust roots).
    public func makeContext() throws -> NIOSSLContext {
        try NIOSSLContext(configuration: nioConfiguration)
    }

    /// swift-nio-ssl's client handler for a connection to `serverHostname`: SNI carries the
    /// name (not an IP address, RFC 6066 §3), and its check of the certificate. Use
    /// ``makeClientHandlers(context:serverHostname:)``, which adds the strict name check.
    public static func makeClientHandler(context: NIOSSLContext, serverHostname: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: isIPAddress(serverHostname) ? nil : serverHostname)
    }

    /// Adds the TLS handlers to a new client channel (on its event loop), before the HTTP
    /// handlers: swift-nio-ssl's client handler and, for a host name under full verification,
    /// the check that the certificate names it (writes wait for it).
    public func configureClientChannel(_ channel: any Channel, serverHostname: String, context: NIOSSLContext? = nil) throws {
        let context = try context ?? makeContext()
        try channel.pipeline.syncOperations.addHandlers(makeClientHandlers(context: context, serverHostname: serverHostname))
    }

    /// The handlers ``configureClientChannel(_:serverHostname:context:)`` adds, in order.
    public func makeClientHandlers(context: NIOSSLContext, serverHostname: String) throws -> [any ChannelHandler] {
        var handlers: [any ChannelHandler] = [try Self.makeClientHandler(context: context, serverHostname: serverHostname)]
        if verification == .full && !Self.isIPAddress(serverHostname) {
            handlers.append(ServerIdentityCheck(hostname: serverHostname))
        }
        return handlers
    }

    /// Whether a certificate with these DNS names is good for `host` (RFC 9525 §6.3): the
    /// rule the handshake applies, for tests and diagnostics.
    public static func certificateNames(_ names: [String], match host: String) -> Bool {
        ServerIdentity.matches(hostname: host, dnsNames: names)
    }

    /// Whether `host` is an IPv4 or IPv6 literal (brackets allowed).
    static func isIPAddress(_ host: String) -> Bool {
        var text = Substring(host)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        return (try? SocketAddress(ipAddress: String(text), port: 0)) != nil
    }
}

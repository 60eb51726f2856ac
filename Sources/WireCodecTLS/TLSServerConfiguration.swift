public import NIOCore
public import NIOSSL
public import WireCodecNIO

/// TLS for a ``WireServer`` (or any server pipeline): a certificate chain and its private key,
/// TLS 1.2 at least, ALPN. One port then serves `https://` and `wss://`: a WebSocket is an
/// HTTP/1.1 upgrade inside the TLS connection, or, when ALPN chose `h2`, an extended CONNECT
/// on one of the HTTP/2 connection's streams (RFC 8441).
///
/// ```swift
/// var configuration = WireServer.Configuration(host: "0.0.0.0", port: 8443)
/// configuration.tls = try TLSServerConfiguration(
///     certificateChainPEMFile: "cert.pem", privateKeyPEMFile: "key.pem", applicationProtocols: ["h2", "http/1.1"])
/// ```
///
/// The context (BoringSSL's `SSL_CTX`) is built once, here, and shared by every connection.
public struct TLSServerConfiguration: ServerTransportSecurity {
    /// The protocols offered by ALPN (RFC 7301), most preferred first.
    public let applicationProtocols: [String]
    /// The lowest TLS version accepted.
    public let minimumTLSVersion: TLSVersion
    /// The BoringSSL context every connection uses.
    public let context: NIOSSLContext

    /// A certificate chain (leaf first, then intermediates) and its private key, from PEM files.
    ///
    /// - Parameters:
    ///   - applicationProtocols: ALPN, default `["http/1.1"]`; `["h2", "http/1.1"]` lets
    ///     clients that speak HTTP/2 choose it (``WireServer`` serves both on the port).
    ///     `http/1.1` must be among them (clients without HTTP/2 still need a way in).
    ///   - minimumTLSVersion: default TLS 1.2 (RFC 9325 §3.1.1: TLS 1.0 and 1.1 are deprecated).
    /// - Throws: `NIOSSLError` when a file cannot be read or parsed, or the key does not
    ///   match the certificate; ``TLSConfigurationError`` for unusable settings.
    public init(
        certificateChainPEMFile: String, privateKeyPEMFile: String, applicationProtocols: [String] = ["http/1.1"],
        minimumTLSVersion: TLSVersion = .tlsv12
    ) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateChainPEMFile)
        let key = try NIOSSLPrivateKey(file: privateKeyPEMFile, format: .pem)
        try self.init(
            certificateChain: chain, privateKey: key, applicationProtocols: applicationProtocols,
            minimumTLSVersion: minimumTLSVersion)
    }

    /// A certificate chain (leaf first) and its private key, already loaded (from PEM bytes
    /// with `NIOSSLCertificate.fromPEMBytes`, say).
    public init(
        certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, applicationProtocols: [String] = ["http/1.1"],
        minimumTLSVersion: TLSVersion = .tlsv12
    ) throws {
        guard !certificateChain.isEmpty else { throw TLSConfigurationError(.emptyCertificateChain) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = minimumTLSVersion
        configuration.applicationProtocols = applicationProtocols
        try self.init(configuration: configuration)
    }

    /// Any swift-nio-ssl server configuration (client certificates, ciphers, curves…); its
    /// minimum version must be TLS 1.2 or later.
    public init(configuration: TLSConfiguration) throws {
        switch configuration.minimumTLSVersion {
        case .tlsv1, .tlsv11: throw TLSConfigurationError(.versionTooOld)
        default: break
        }
        if !configuration.applicationProtocols.isEmpty && !configuration.applicationProtocols.contains("http/1.1") {
            throw TLSConfigurationError(.noHTTP11)
        }
        applicationProtocols = configuration.applicationProtocols
        minimumTLSVersion = configuration.minimumTLSVersion
        context = try NIOSSLContext(configuration: configuration)
    }

    /// Adds the server-side TLS handler (``WireServer`` calls it for each connection).
    public func configureServerChannel(_ channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
    }
}

/// A TLS configuration that cannot be used, with the reason.
public struct TLSConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable { case emptyCertificateChain, versionTooOld, noHTTP11 }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No certificate was given (or the PEM file held none).
        public static let emptyCertificateChain = Code(.emptyCertificateChain)
        /// A minimum version below TLS 1.2.
        public static let versionTooOld = Code(.versionTooOld)
        /// ALPN without `http/1.1`, which is what this transport speaks.
        public static let noHTTP11 = Code(.noHTTP11)

        public var name: String {
            switch base {
            case .emptyCertificateChain: "empty-certificate-chain"
            case .versionTooOld: "version-too-old"
            case .noHTTP11: "no-http11"
            }
        }

        public var description: String { name }
    }

    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "TLSConfigurationError(\(code.name))" }
}

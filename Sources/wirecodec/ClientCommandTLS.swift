#if Clients
import WireCodecNIO

extension ClientCommandSupport {
    /// TLS for secure URLs (replaced by WireCodecTLS's client security once it is on main).
    static func security(caCert: String?) throws -> (any ClientTransportSecurity)? { nil }
}
#endif

#if Clients
import WireCodecNIO
import WireCodecTLS

extension ClientCommandSupport {
    /// TLS for secure URLs: the system's trust roots plus `caCert`, verification always on.
    static func security(caCert: String?) throws -> (any ClientTransportSecurity)? {
        try TLSClientSecurity(additionalTrustRootsPEMFiles: caCert.map { [$0] } ?? [])
    }
}
#endif

#if Clients
import Foundation
import WireCodecCLI
import WireCodecNIO
import WireHTTP1

/// What `ws connect` and `sse listen` share: TLS and proxy settings, output, exit.
enum ClientCommandSupport {
    /// TLS (system roots plus `caCert`, verification on) and the proxy (`proxy`, else the
    /// environment's, by curl's rules).
    static func connection(caCert: String?, proxy: String?) throws -> ClientConnectionConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let proxySetting: ClientConnectionConfiguration.Proxy =
            proxy.map { .explicit($0, environment: environment) } ?? .environment(environment)
        return ClientConnectionConfiguration(security: try security(caCert: caCert), proxy: proxySetting)
    }

    /// One JSON line on standard output, written at once.
    static func printLine(_ line: JSONValue) {
        FileHandle.standardOutput.write(Data((line.serialized + "\n").utf8))
    }

    /// A note on standard error.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data("wirecodec: \(text)\n".utf8))
    }

    /// The one-line reason on standard error, then exit 1.
    static func fail(_ reason: String) -> Never {
        note(reason)
        exit(1)
    }

    static func exit(_ status: Int32) -> Never {
        Foundation.exit(status)
    }

    /// One line for an error: the typed errors' own descriptions, the first line of others.
    static func describe(_ error: any Error, security: (any ClientTransportSecurity)?) -> String {
        let text: String
        switch error {
        case let error as HTTPProxyError: text = "proxy: \(error)"
        case let error as ClientConnectionError: text = "\(error)"
        case let error as WebSocketClientUpgradeError: text = "WebSocket handshake: \(error)"
        default: text = security?.describe(error) ?? ClientConnectionError.describe(error)
        }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
#endif

public import ArgumentParser
import Logging
public import ServiceLifecycle
import UnixSignals
public import WireCodecNIO
import WireCodecTLS
import WireHTTP1

/// The options both example servers share: TLS, timeouts, the shutdown grace period; and
/// how they run (a `ServiceGroup` that shuts the server down gracefully on SIGTERM/SIGINT).
public struct ServerOptions: ParsableArguments {
    @Option(help: "PEM file with the certificate chain (leaf first); with --tls-key the port speaks TLS only (https://, wss://).")
    public var tlsCert: String?

    @Option(help: "PEM file with the private key of --tls-cert.")
    public var tlsKey: String?

    @Flag(help: "With TLS, offer only HTTP/1.1 by ALPN (default: h2 and http/1.1 on the one port).")
    public var noHttp2 = false

    @Option(help: "Longest time from the first byte of a request head to its end, in milliseconds (then 408 and close).")
    public var requestHeadTimeoutMs = 30_000

    @Option(help: "Longest time a connection may wait for its next request, in milliseconds (then close).")
    public var keepAliveTimeoutMs = 60_000

    @Option(help: "Longest gap between two reads of a request body, in milliseconds (then 408 or close).")
    public var bodyTimeoutMs = 60_000

    @Option(help: "On SIGTERM/SIGINT, how long requests in progress and WebSocket closing handshakes may take, in milliseconds.")
    public var shutdownGraceMs = 30_000

    @Flag(help: "Run each connection's tasks (its request and WebSocket handlers) on Swift's global concurrent executor instead of the connection's event loop (WireServer.Configuration.runsTasksOnEventLoop = false).")
    public var tasksOffEventLoop = false

    public init() {}

    public func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        for (name, value) in [
            ("request-head-timeout-ms", requestHeadTimeoutMs), ("keep-alive-timeout-ms", keepAliveTimeoutMs),
            ("body-timeout-ms", bodyTimeoutMs), ("shutdown-grace-ms", shutdownGraceMs),
        ] where value < 1 {
            throw ValidationError("--\(name) must be at least 1")
        }
    }

    /// The server configuration these options describe (TLS loaded from the PEM files).
    public func configuration(host: String, port: Int) throws -> WireServer.Configuration {
        var configuration = WireServer.Configuration(host: host, port: port)
        // Thousands of clients may connect at once (the load and timeout tests do).
        configuration.backlog = 4096
        if let tlsCert, let tlsKey {
            do {
                configuration.tls = try TLSServerConfiguration(
                    certificateChainPEMFile: tlsCert, privateKeyPEMFile: tlsKey,
                    applicationProtocols: noHttp2 ? ["http/1.1"] : ["h2", "http/1.1"])
            } catch {
                throw ValidationError("cannot use --tls-cert \(tlsCert) --tls-key \(tlsKey): \(error)")
            }
        }
        configuration.timeouts = HTTP1Timeouts(
            requestHead: .milliseconds(requestHeadTimeoutMs), idle: .milliseconds(keepAliveTimeoutMs),
            bodyProgress: .milliseconds(bodyTimeoutMs))
        configuration.shutdownGracePeriod = .milliseconds(shutdownGraceMs)
        configuration.runsTasksOnEventLoop = !tasksOffEventLoop
        return configuration
    }

    /// Runs `services` in a `ServiceGroup` until SIGTERM or SIGINT has shut them down
    /// gracefully (in reverse order: put the server last, so it drains first).
    public static func runUntilSignalled(_ services: [any Service], label: String) async throws {
        var logger = Logger(label: label)
        logger.logLevel = .notice
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

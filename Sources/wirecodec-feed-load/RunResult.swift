import Foundation

/// What one technique cost in one run.
struct RunResult: Codable {
    var label: String
    var technique: String
    var clients: Int
    var updates: Int
    var intervalMs: Int
    var pollIntervalMs: Int?
    /// clients × updates.
    var expected: Int
    var delivered: Int
    var orderViolations: Int
    var windowMs: Double
    /// Per delivered update (one update reaching one client), within the window.
    var bytesUpPerUpdate: Double
    var bytesDownPerUpdate: Double
    var bytesPerUpdate: Double
    var requestsPerUpdate: Double
    /// Bytes per client before the window: connecting, handshakes, first polls.
    var setupBytesPerClient: Double
    var latencyP50Ms: Double
    var latencyP99Ms: Double
    var latencyMaxMs: Double
    /// Server CPU time in the window per published update (reaching every client).
    var serverCPUMsPerUpdate: Double
    /// The same per delivered update.
    var serverCPUUsPerDelivery: Double
    /// Growth of the server's resident memory per connected, idle client.
    var memoryPerClientBytes: Int
    var errors: [String]
    /// Only in the cluster mode (`--target`).
    var cluster: ClusterFigures?

    var isComplete: Bool { delivered == expected && orderViolations == 0 && (cluster?.incompleteClients ?? 0) == 0 }

    init(
        label: String, technique: String, clients: Int, updates: Int, intervalMs: Int, pollIntervalMs: Int?,
        expected: Int, seen: LoadStats.Snapshot, windowNs: UInt64, serverCPUNs: UInt64, memoryPerClient: Int
    ) {
        self.label = label
        self.technique = technique
        self.clients = clients
        self.updates = updates
        self.intervalMs = intervalMs
        self.pollIntervalMs = pollIntervalMs
        self.expected = expected
        delivered = seen.delivered
        orderViolations = seen.orderViolations
        windowMs = Double(windowNs) / 1e6
        let perUpdate = Double(max(seen.delivered, 1))
        bytesUpPerUpdate = Double(seen.bytesSent) / perUpdate
        bytesDownPerUpdate = Double(seen.bytesReceived) / perUpdate
        bytesPerUpdate = Double(seen.bytesSent + seen.bytesReceived) / perUpdate
        requestsPerUpdate = Double(seen.requests) / perUpdate
        setupBytesPerClient = Double(seen.setupBytes) / Double(clients)
        let sorted = seen.latenciesNs.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)
            return Double(sorted[max(0, index)]) / 1e6
        }
        latencyP50Ms = percentile(0.50)
        latencyP99Ms = percentile(0.99)
        latencyMaxMs = sorted.last.map { Double($0) / 1e6 } ?? .nan
        serverCPUMsPerUpdate = Double(serverCPUNs) / 1e6 / Double(updates)
        serverCPUUsPerDelivery = Double(serverCPUNs) / 1e3 / perUpdate
        memoryPerClientBytes = memoryPerClient
        errors = seen.errors
    }

    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    static func markdown(_ results: [RunResult]) -> String {
        var lines = [
            "| setting | technique | clients | updates | delivered in order | bytes/update (up + down) | requests/update | latency p50 / p99 (ms) | server CPU per update (ms) | server CPU per delivery (µs) | memory per client (bytes) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results {
            let technique = r.pollIntervalMs.map { "\(r.technique) (every \($0) ms)" } ?? r.technique
            lines.append(
                "| \(r.label) | \(technique) | \(r.clients) | \(r.updates) | \(r.delivered - r.orderViolations)/\(r.expected) | "
                    + "\(f(r.bytesPerUpdate, 0)) (\(f(r.bytesUpPerUpdate, 0)) + \(f(r.bytesDownPerUpdate, 0))) | \(f(r.requestsPerUpdate, 2)) | "
                    + "\(f(r.latencyP50Ms, 1)) / \(f(r.latencyP99Ms, 1)) | \(f(r.serverCPUMsPerUpdate, 1)) | \(f(r.serverCPUUsPerDelivery, 1)) | \(r.memoryPerClientBytes) |")
        }
        return lines.joined(separator: "\n")
    }
}

private func f(_ value: Double, _ digits: Int) -> String {
    value.isNaN ? "–" : String(format: "%.\(digits)f", value)
}

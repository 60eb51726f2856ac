import Foundation
import Testing

/// The throwaway PostgreSQL server of the tests (`Tests/Scripts/postgres.sh`: a data directory
/// under `.build/`, a free loopback port; the test command starts it and removes it at the
/// end, and a test started alone starts it itself). Each test takes a fresh database.
enum TestPostgres {
    static let script = Paths.root.appendingPathComponent("Tests/Scripts/postgres.sh").path

    /// The server's binaries (Debian's postgresql package).
    static var binaries: String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = "/usr/lib/postgresql/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/initdb") { return bin }
        }
        return Paths.which("initdb").map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
    }

    static var available: Bool { binaries != nil && Paths.which("python3") != nil }

    private static func run(_ arguments: [String], timeout: Double = 120) throws -> String {
        // fsync off when this starts the server (postgres.sh: a restart then takes a second).
        let result = try runProcess("/bin/bash", [script] + arguments, environment: ["WIRECODEC_POSTGRES_FSYNC": "off"], timeout: timeout)
        try #require(result.status == 0, "postgres.sh \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new, empty database on the running server (started if it is not), and its URL.
    static func freshDatabase(_ name: String) throws -> String {
        _ = try run(["start"])
        return try run(["createdb", name])
    }

    /// Stops the server (`immediate`: as a crash would), waits `pause` seconds, starts it again.
    static func restartCommand(mode: String = "immediate", pause: Double = 1) -> String {
        "bash \(script) restart \(mode) \(pause)"
    }

    static func stop(mode: String = "fast") throws { _ = try run(["stop", mode]) }
    static func start() throws { _ = try run(["start"]) }

    /// `psql` on `database` over TCP (the password in the URL), one command, tuples only.
    static func psql(_ url: String, _ sql: String) throws -> String {
        let bin = try #require(binaries)
        let result = try runProcess(bin + "/psql", [url.replacingOccurrences(of: "?sslmode=disable", with: ""), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], timeout: 60)
        try #require(result.status == 0, "psql \(sql): \(result.stderr)")
        return result.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `Tests/Scripts/deploy/feed-cluster.sh` (the committed launcher and nginx configuration) as a
/// child process: instances of the debug build's `wirecodec-feed-server` sharing `postgres`,
/// nginx in front, until ``stop()``.
final class FeedCluster {
    let process = Process()
    private(set) var instances: [(pid: Int32, url: String)] = []
    private(set) var nginx = ""
    private(set) var nginxPid: Int32 = 0
    private(set) var proxies: [String: String] = [:]
    let state: URL
    /// The launcher's standard error.
    var launcherLog: URL { URL(fileURLWithPath: state.path + ".launcher.log") }

    static var nginxBinary: String? {
        Paths.which("nginx") ?? (FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") ? "/usr/sbin/nginx" : nil)
    }

    init(postgres: String?, instances count: Int = 3, readTimeout: String? = nil, fallbackProxies: Bool = false, serverArguments: [String] = []) throws {
        state = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-cluster-\(UUID().uuidString.prefix(8))")
        var arguments = [
            Paths.root.appendingPathComponent("Tests/Scripts/deploy/feed-cluster.sh").path, "--port", "0", "--instances", String(count),
            "--bin", Paths.binaries.path, "--state", state.path, "--postgres", postgres ?? "none",
        ]
        if let readTimeout { arguments += ["--proxy-read-timeout", readTimeout] }
        if fallbackProxies { arguments.append("--fallback-proxies") }
        // Stopping at the end of a test need not wait the production grace period (30 s) for
        // connections the killed clients left behind.
        arguments += ["--", "--shutdown-grace-ms", "1000"] + serverArguments
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // The launcher's own messages (why it stopped) go beside the state directory, which
        // `stop()` removes with both.
        _ = FileManager.default.createFile(atPath: launcherLog.path, contents: nil)
        let launcherErrors = try FileHandle(forWritingTo: launcherLog)
        defer { try? launcherErrors.close() }
        process.standardError = launcherErrors
        try process.run()
        while true {
            let text = String(decoding: readLine(from: output), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty {
                // Read before `stop()` removes them.
                let report = failureReport()
                stop()
                throw ClusterError.launcherFailed(report)
            }
            let words = text.split(separator: " ").map(String.init)
            if text == "feed-cluster: ready" { break }
            if words.count >= 6, words[1] == "instance", let pid = Int32(words[4]) {
                instances.append((pid, words[5]))
            } else if words.count >= 5, words[1] == "nginx", let pid = Int32(words[3]) {
                nginxPid = pid
                nginx = words[4]
            } else if words.count >= 4, words[1] == "proxy" {
                proxies[words[2]] = words[3]
            }
        }
    }

    /// SIGKILL to instance `index` (0-based): its clients lose their connections at once.
    func kill(instance index: Int) {
        Foundation.kill(instances[index].pid, SIGKILL)
    }

    /// The launcher's process group (Foundation's `Process` starts a child in a group of its
    /// own): the launcher, the instances, nginx and its workers.
    var processGroup: pid_t { process.processIdentifier }
    /// Whether ``stop()`` found everything ended on SIGTERM (rather than killing what was left).
    private(set) var stoppedGracefully = false
    private var stopped = false

    /// Stops the launcher, which stops the instances and nginx (each gets SIGTERM, then SIGKILL
    /// after a few seconds); then whatever is left of the launcher's process group — nothing,
    /// unless the launcher itself had to be killed — is killed too, so that no process a test
    /// started (nginx's workers above all) outlives it, whether the test passed or failed.
    func stop() {
        guard !stopped else { return }
        stopped = true
        let pid = process.processIdentifier
        if !hasEnded(pid) { Foundation.kill(pid, SIGTERM) }
        // Whether it ended is read from /proc: Foundation's Process may learn of a child's end
        // late (it watches a socket the child's own children can hold open).
        let deadline = Date().addingTimeInterval(15)
        while !hasEnded(pid) && Date() < deadline { usleep(20_000) }
        stoppedGracefully = hasEnded(pid)
        // The group: the launcher's pid is its id (checked, in case it ended and was reaped).
        var members = processes(inGroup: pid)
        for instance in instances where !hasEnded(instance.pid) { members.append(instance.pid) }
        if nginxPid > 0 { members += [nginxPid] + childProcesses(of: nginxPid) }
        members = members.filter { !hasEnded($0) }
        if !members.isEmpty {
            stoppedGracefully = false
            for member in members { Foundation.kill(member, SIGKILL) }
        }
        if !hasEnded(pid) { Foundation.kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: state)
        try? FileManager.default.removeItem(at: launcherLog)
    }

    /// What the launcher and the parts it started wrote: its standard error, every instance's
    /// log, nginx's error log.
    private func failureReport() -> String {
        var logs = [("launcher", launcherLog)]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.path)) ?? []
        for name in names.sorted() where name.hasPrefix("instance-") && name.hasSuffix(".log") {
            logs.append((name, state.appendingPathComponent(name)))
        }
        logs.append(("nginx", state.appendingPathComponent("nginx/error.log")))
        return logs.compactMap { name, url in
            (try? String(contentsOf: url, encoding: .utf8)).map { "\(name):\n\($0)" }
        }.joined(separator: "\n")
    }

    deinit { stop() }
}

enum ClusterError: Error { case launcherFailed(String) }

/// Whether process `pid` has ended (gone, or a zombie not yet reaped).
func hasEnded(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // `PID (COMM) STATE ...`: the state follows the last parenthesis.
    guard let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
    return state == "Z" || state == "X"
}

/// The live processes whose process group is `group` (from /proc).
func processes(inGroup group: pid_t) -> [pid_t] {
    procStats().filter { $0.group == group && !$0.ended }.map(\.pid)
}

/// The live children of `parent` (from /proc).
func childProcesses(of parent: pid_t) -> [pid_t] {
    procStats().filter { $0.parent == parent && !$0.ended }.map(\.pid)
}

/// Every process's pid, parent, group and whether it ended, from /proc/PID/stat.
private func procStats() -> [(pid: pid_t, parent: pid_t, group: pid_t, ended: Bool)] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap { name in
        guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // `PID (COMM) STATE PPID PGRP ...`
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let parent = pid_t(fields[1]), let group = pid_t(fields[2]) else { return nil }
        return (pid, parent, group, fields[0] == "Z" || fields[0] == "X")
    }
}

/// `wirecodec-feed-load` in cluster mode (`--target`), its JSON lines by technique.
func runClusterLoad(_ arguments: [String], timeout: Double = 300) throws -> (result: ProcessResult, runs: [String: [String: Any]]) {
    let result = try runProcess(Paths.executable("wirecodec-feed-load").path, ["--json"] + arguments, timeout: timeout)
    var runs: [String: [String: Any]] = [:]
    for line in result.text.split(separator: "\n") {
        if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let technique = object["technique"] as? String {
            runs[technique] = object
        }
    }
    return (result, runs)
}

/// The checks every cluster run makes of one technique's clients: every one of them got every
/// item exactly once and in order, and ended at the log's newest id.
func expectEveryItemOnceInOrder(_ run: [String: Any]?, _ technique: String, clients: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let run else {
        Issue.record("no result for \(technique)", sourceLocation: sourceLocation)
        return
    }
    let cluster = run["cluster"] as? [String: Any] ?? [:]
    let items = (cluster["lastId"] as? Int ?? 0) - (cluster["startCursor"] as? Int ?? 0)
    #expect(items > 0, "\(technique): \(run)", sourceLocation: sourceLocation)
    #expect(run["expected"] as? Int == clients * items, "\(technique)", sourceLocation: sourceLocation)
    #expect(run["delivered"] as? Int == clients * items, "\(technique): \(run)", sourceLocation: sourceLocation)
    #expect(run["orderViolations"] as? Int == 0, "\(technique): \(run)", sourceLocation: sourceLocation)
    #expect(cluster["incompleteClients"] as? Int == 0, "\(technique): \(run)", sourceLocation: sourceLocation)
}

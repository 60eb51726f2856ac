import Foundation
import PostgresNIO

/// How ``PostgresFeedSource`` reaches the log: the connection (from a `postgres://` URL), the
/// table, and the bounds of every wait.
struct PostgresFeedOptions: Sendable {
    var connection: PostgresConnection.Configuration
    /// What the URL said, without the password (for messages and `GET /stats`).
    var displayURL: String
    /// The table of the log; the notification channel and the publishing function are named
    /// after it (`<table>` and `<table>_publish`). Default `wirecodec_feed`.
    var table = "wirecodec_feed"
    /// The first wait before reconnecting; doubled after each failure (with ±20% jitter) up
    /// to ``reconnectMax``. Defaults 100 ms and 5 s.
    var reconnectFirst: Duration = .milliseconds(100)
    var reconnectMax: Duration = .seconds(5)
    /// The longest a query (publishing, catching up) may take before the connection is
    /// considered lost and closed. Default 5 s.
    var queryTimeout: Duration = .seconds(5)
    /// Catch up at least this often even without a notification: the connection's health
    /// check, and the safety net under LISTEN/NOTIFY. Default 1 s.
    var checkInterval: Duration = .seconds(1)
    /// Rows read per catch-up query. Default 1,000.
    var batch = 1_000
    /// How long the first connection may take before the server starts without the log
    /// (then it serves an empty feed and keeps trying). Default 10 s.
    var startupWait: Duration = .seconds(10)

    /// Parses `postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?sslmode=MODE][&host=SOCKETDIR]`
    /// (also `postgresql://`), as libpq reads it: percent-decoded user, password and database;
    /// port 5432 by default; `sslmode` `disable`, `prefer` (the default: TLS when the server
    /// offers it, the certificate not checked, as libpq does), `require` (TLS, not checked) or
    /// `verify-full` (TLS, the certificate checked against the system's roots and the host
    /// name); `host=/dir` connects through the Unix socket `/dir/.s.PGSQL.PORT`.
    init(url text: String) throws(PostgresURLError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresURLError(reason: "not a postgres:// URL")
        }
        let user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let path = url.percentEncodedPath.drop { $0 == "/" }
        guard let database = String(path).removingPercentEncoding, !database.contains("/") else {
            throw PostgresURLError(reason: "the path must be the database name")
        }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError(reason: "port \(port) is out of range") }
        var query: [String: String] = [:]
        for item in url.queryItems ?? [] { query[item.name] = item.value ?? "" }
        for name in query.keys where !["sslmode", "host"].contains(name) {
            throw PostgresURLError(reason: "unsupported parameter \(name) (sslmode and host are)")
        }
        let host = url.host.flatMap { $0.isEmpty ? nil : $0 }
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            connection = .init(
                unixSocketPath: socketDirectory + "/.s.PGSQL.\(port)", username: user, password: password,
                database: database.isEmpty ? nil : database)
        } else {
            guard let host = host ?? query["host"] else { throw PostgresURLError(reason: "no host") }
            let tls: PostgresConnection.Configuration.TLS
            do {
                switch query["sslmode"] ?? "prefer" {
                case "disable":
                    tls = .disable
                case "prefer", "allow":
                    tls = .prefer(try NIOSSLContext(configuration: Self.unverified))
                case "require":
                    tls = .require(try NIOSSLContext(configuration: Self.unverified))
                case "verify-full", "verify-ca":
                    tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case let mode:
                    throw PostgresURLError(reason: "sslmode \(mode) is not one of disable, prefer, require, verify-full")
                }
            } catch let error as PostgresURLError {
                throw error
            } catch {
                throw PostgresURLError(reason: "TLS: \(error)")
            }
            let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            connection = .init(host: name, port: port, username: user, password: password, database: database.isEmpty ? nil : database, tls: tls)
        }
        // Publishing relies on READ COMMITTED (each statement of the function sees what was
        // committed before it took the lock): whatever the server's default, ask for it.
        connection.options.additionalStartupParameters = [("default_transaction_isolation", "read committed")]
        connection.options.connectTimeout = .seconds(5)
        var shown = url
        if shown.password != nil { shown.password = "***" }
        displayURL = shown.string ?? "postgres://"
    }

    private static var unverified: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return configuration
    }

    /// The names derived from ``table``: a lowercase SQL identifier, checked by ``validateTable()``.
    var channel: String { table }
    var publishFunction: String { table + "_publish" }

    /// The key of the advisory lock that makes publishing single-writer: a stable 63-bit hash
    /// of the table name (FNV-1a), the same in every instance.
    var lockKey: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in table.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash >> 1)
    }

    func validateTable() throws(PostgresURLError) {
        let ok = !table.isEmpty && table.utf8.count <= 40
            && table.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
            && !(table.utf8.first! >= 0x30 && table.utf8.first! <= 0x39)
        if !ok { throw PostgresURLError(reason: "the table name must be 1 to 40 of a-z, 0-9 and _, not starting with a digit") }
    }

    /// The schema, created when missing (every statement is idempotent; run under the lock so
    /// that instances starting together do not race).
    var schema: [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                id bigint PRIMARY KEY CHECK (id > 0),
                data text NOT NULL,
                published_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            // Single-writer ordering. The transaction-scoped advisory lock is taken before the
            // id: the previous publisher's commit became visible before its lock was released,
            // so max(id) + 1, read under the lock by a fresh statement (READ COMMITTED, VOLATILE),
            // is the next id, committed after every smaller one. A reader that sees id N
            // therefore sees every id below N: ids are gapless and commit in order. The
            // notification goes out at commit.
            """
            CREATE OR REPLACE FUNCTION \(publishFunction)(item text) RETURNS bigint
            LANGUAGE plpgsql VOLATILE AS $fn$
            DECLARE
                new_id bigint;
            BEGIN
                PERFORM pg_advisory_xact_lock(\(lockKey));
                SELECT coalesce(max(id), 0) + 1 INTO new_id FROM \(table);
                INSERT INTO \(table) (id, data) VALUES (new_id, item);
                PERFORM pg_notify('\(channel)', new_id::text);
                RETURN new_id;
            END
            $fn$
            """,
        ]
    }
}

struct PostgresURLError: Error, CustomStringConvertible {
    var reason: String
    var description: String { "--postgres: \(reason)" }
}

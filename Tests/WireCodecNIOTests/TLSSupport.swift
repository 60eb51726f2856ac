import Foundation
import Testing

/// A throwaway CA and server certificate for the TLS tests, made once per test run by
/// `Tests/Scripts/make-test-cert.sh` (the `openssl` command) in a temporary directory.
struct TestCertificate: Sendable {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var chain: String { directory + "/server.pem" }
    var key: String { directory + "/server.key" }
    /// base64 SHA-256 of the server key's SubjectPublicKeyInfo (Chromium's
    /// `--ignore-certificate-errors-spki-list`).
    let spki: String

    /// The server flags that make an example server speak TLS with this certificate.
    var serverArguments: [String] { ["--tls-cert", chain, "--tls-key", key] }

    static let openssl = Paths.which("openssl")

    /// Made on first use; `nil` (and a visible skip, or a failure under
    /// `WIRECODEC_REQUIRE_PEERS`) when `openssl` is missing.
    static let shared: TestCertificate? = {
        guard openssl != nil, let bash = Paths.which("bash") else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-tls-\(getpid())").path
        let script = Paths.root.appendingPathComponent("Tests/Scripts/make-test-cert.sh").path
        guard let result = try? runProcess(bash, [script, directory], timeout: 60), result.status == 0,
              let spki = try? String(contentsOfFile: directory + "/spki.txt", encoding: .utf8)
        else { return nil }
        return TestCertificate(directory: directory, spki: spki.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    static func require() -> TestCertificate? {
        guard requirePeer(openssl != nil, "openssl") else { return nil }
        let certificate = shared
        #expect(certificate != nil, "Tests/Scripts/make-test-cert.sh failed")
        return certificate
    }
}

extension EchoServerProcess {
    /// `https://localhost:PORT` (the certificate names localhost and 127.0.0.1).
    var httpsURL: String { "https://localhost:\(port)" }
    var wssURL: String { "wss://localhost:\(port)" }
}

import Foundation
import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

/// Cross-checks against a real peer: Python `websockets`' own permessage-deflate extension
/// (`websockets.extensions.permessage_deflate.PerMessageDeflate`, over the same system zlib)
/// and Python's `zlib`. When python3 or websockets is missing the tests are skipped with a
/// message, unless `WIRECODEC_REQUIRE_PEERS` is set (as `Tests/Scripts/test-all.sh` does).
enum PythonPeer {
    /// The peer program: one JSON request on stdin, one JSON answer on stdout.
    static let script = #"""
        import json, sys, zlib
        from websockets.extensions.permessage_deflate import PerMessageDeflate
        from websockets.frames import Frame, Opcode
        def answer(req):
          out = []
          if req["op"] == "encode":
              ext = PerMessageDeflate(req["remote_nct"], req["local_nct"], req["remote_bits"], req["local_bits"])
              for m in req["messages"]:
                  frame = ext.encode(Frame(Opcode.BINARY, bytes.fromhex(m)))
                  out.append(frame.data.hex())
          elif req["op"] == "decode":
              ext = PerMessageDeflate(req["remote_nct"], req["local_nct"], req["remote_bits"], req["local_bits"])
              for fragments in req["messages"]:
                  data = b""
                  for i, f in enumerate(fragments):
                      frame = Frame(Opcode.BINARY if i == 0 else Opcode.CONT, bytes.fromhex(f),
                                    fin=(i == len(fragments) - 1), rsv1=(i == 0))
                      data += ext.decode(frame).data
                  out.append(data.hex())
          elif req["op"] == "zlib-compress":
              c = zlib.compressobj(wbits=-req["bits"])
              for m in req["messages"]:
                  out.append((c.compress(bytes.fromhex(m)) + c.flush(zlib.Z_SYNC_FLUSH))[:-4].hex())
          elif req["op"] == "zlib-window-8":
              try:
                  zlib.compressobj(wbits=-8)
                  out.append("compressobj(wbits=-8) accepted")
              except ValueError as e:
                  out.append("compressobj: " + str(e))
              zlib.decompressobj(wbits=-8)
              out.append("decompressobj(wbits=-8) accepted")
          return out
        json.dump([answer(r) for r in json.load(sys.stdin)], sys.stdout)
        """#

    /// Whether the peer is usable; records an issue when peers are required but missing.
    static let available: Bool = {
        let ok = (try? run([["op": "zlib-window-8"]])) != nil
        if !ok {
            if ProcessInfo.processInfo.environment["WIRECODEC_REQUIRE_PEERS"] != nil {
                Issue.record("python3 with websockets is required (WIRECODEC_REQUIRE_PEERS) but not usable")
            } else {
                print("note: python3 with websockets not found: Python cross-checks skipped (run Tests/Scripts/setup-tests.sh)")
            }
        }
        return ok
    }()

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Runs the peer once with a batch of requests and returns one answer list per request.
    static func run(_ requests: [[String: Any]]) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let python = ProcessInfo.processInfo.environment["WIRECODEC_PYTHON"] ?? "python3"
        process.arguments = [python, "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: requests))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let list = try JSONSerialization.jsonObject(with: data) as? [[String]] else {
            throw Failure(description: "python peer failed: " + String(decoding: stderr, as: UTF8.self))
        }
        return list
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let h = it.next(), let l = it.next() {
            out.append(ASCII.hexValue(h)! << 4 | ASCII.hexValue(l)!)
        }
        return out
    }
}

@Suite(.serialized) struct PerMessageDeflatePythonTests {
    static func messages(seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<12).map { i in i == 3 ? [] : sampleMessage(&rng) }
    }

    static let settings: [(bits: Int, noTakeover: Bool)] = (9...15).flatMap { bits in [(bits, false), (bits, true)] }

    /// Our compressor (server side) against websockets' client-side extension, for window bits
    /// 9...15 with and without context takeover: it inflates everything we send (whole
    /// messages, and messages compressed per fragment), and with the same zlib settings
    /// (level 6, memLevel 8) our bytes are the ones websockets itself sends.
    @Test func websocketsInflatesWhatWeSend() throws {
        guard PythonPeer.available else { return }
        var requests: [[String: Any]] = []
        var expected: [[[UInt8]]] = []
        for (bits, noTakeover) in Self.settings {
            let parameters = PerMessageDeflateParameters(serverNoContextTakeover: noTakeover, serverMaxWindowBits: bits)
            let messages = Self.messages(seed: UInt64(bits))
            // Two messages compressed per fragment (three pieces as they come, three frames),
            // on a fresh pair of extensions: context carries from the first to the second.
            var streaming = makeDeflate(parameters, role: .server)
            var fragmented: [[String]] = []
            for message in messages[1...2] {
                var frames: [String] = []
                let cuts = [0..<message.count / 3, message.count / 3..<message.count / 2, message.count / 2..<message.count]
                for (j, cut) in cuts.enumerated() {
                    var piece: [UInt8] = []
                    streaming.compress(Array(message[cut]).span, fin: j == 2, into: &piece)
                    frames.append(PythonPeer.hex(piece))
                }
                fragmented.append(frames)
            }
            requests.append(["op": "decode", "remote_nct": noTakeover, "local_nct": false, "remote_bits": bits,
                             "local_bits": 15, "messages": fragmented])
            expected.append(Array(messages[1...2]))
            // Whole messages on one fresh pair, then websockets' own encoding of the same.
            var whole = makeDeflate(parameters, role: .server)
            let ourWire = messages.map { compressed(&whole, $0) }
            requests.append(["op": "decode", "remote_nct": noTakeover, "local_nct": false, "remote_bits": bits, "local_bits": 15,
                             "messages": ourWire.map { [PythonPeer.hex($0)] }])
            expected.append(messages)
            requests.append(["op": "encode", "remote_nct": false, "local_nct": noTakeover, "remote_bits": 15, "local_bits": bits,
                             "messages": messages.map(PythonPeer.hex)])
            expected.append(ourWire)
        }
        let answers = try PythonPeer.run(requests)
        #expect(answers.count == expected.count)
        for (answer, want) in zip(answers, expected) {
            #expect(answer.map(PythonPeer.bytes) == want)
        }
    }

    /// websockets' compressor (server side, 9...15 bits, with and without takeover) to our
    /// client-side inflater, fed in random fragments.
    @Test func weInflateWhatWebsocketsSends() throws {
        guard PythonPeer.available else { return }
        let requests: [[String: Any]] = Self.settings.map { bits, noTakeover in
            ["op": "encode", "remote_nct": false, "local_nct": noTakeover, "remote_bits": 15, "local_bits": bits,
             "messages": Self.messages(seed: UInt64(100 + bits)).map(PythonPeer.hex)]
        }
        let answers = try PythonPeer.run(requests)
        #expect(answers.count == Self.settings.count)
        for ((bits, noTakeover), answer) in zip(Self.settings, answers) {
            let messages = Self.messages(seed: UInt64(100 + bits))
            var ours = makeDeflate(PerMessageDeflateParameters(serverNoContextTakeover: noTakeover, serverMaxWindowBits: bits), role: .client)
            var rng = SplitMix64(seed: UInt64(bits))
            for (payload, message) in zip(answer.map(PythonPeer.bytes), messages) {
                let pieces = Chunkings.random(of: payload, maxPiece: 9, using: &rng).map(Array.init)
                #expect(try inflated(&ours, pieces.isEmpty ? [[]] : pieces) == message, "bits \(bits) no takeover \(noTakeover)")
            }
        }
    }

    /// Window bits 8, checked against the real zlib: Python's zlib (like ours) refuses to
    /// deflate raw with 8 bits but inflates with 8; a stream deflated with 9 bits (what zlib
    /// before 1.2.9 silently used for 8) inflates in an 8-bit window, in both implementations.
    @Test func windowBits8AgainstPythonZlib() throws {
        guard PythonPeer.available else { return }
        let messages = Self.messages(seed: 8)
        var sender = makeDeflate(PerMessageDeflateParameters(serverMaxWindowBits: 9), role: .server)
        let ourWire = messages.map { compressed(&sender, $0) }
        let answers = try PythonPeer.run([
            ["op": "zlib-window-8"],
            ["op": "zlib-compress", "bits": 9, "messages": messages.map(PythonPeer.hex)],
            ["op": "decode", "remote_nct": false, "local_nct": false, "remote_bits": 8, "local_bits": 15,
             "messages": ourWire.map { [PythonPeer.hex($0)] }],
        ])
        #expect(answers.count == 3)
        guard answers.count == 3 else { return }
        #expect(answers[0] == ["compressobj: Invalid initialization option", "decompressobj(wbits=-8) accepted"])
        var ours = makeDeflate(PerMessageDeflateParameters(serverMaxWindowBits: 8), role: .client)
        for (payload, message) in zip(answers[1].map(PythonPeer.bytes), messages) {
            #expect(try inflated(&ours, [payload]) == message)
        }
        // websockets itself with an 8-bit receive window takes our 9-bit output.
        #expect(answers[2].map(PythonPeer.bytes) == messages)
    }
}

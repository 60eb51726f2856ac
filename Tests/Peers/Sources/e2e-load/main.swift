// The load client of the end-to-end comparison, written on the codec: one thread, epoll, raw
// non-blocking sockets, a `WebSocketConnection` per socket (the client's opening handshake,
// masking with a cheap deterministic key source, whole messages). The same client measures
// every server.
//
//     e2e-load ws-echo --port N --connections C --size BYTES [--seconds 5] [--warmup 1]
//         closed loop: each connection sends a text message of BYTES ASCII bytes, waits for the
//         echo, sends the next. Prints {"messages_per_s":X,"p50_us":Y,"p99_us":Z,"errors":E}
//         over the measured seconds (round trip: send to echo received).
//     e2e-load ws-idle --port N --connections C [--hold 10]
//         opens C WebSockets (at most 256 handshakes in flight), prints "READY C" once all are
//         open, keeps answering pings for --hold seconds, then closes them.

import CEpoll
import Glibc
import WireCodec

// MARK: Options

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}
guard arguments.count > 1, arguments[1] == "ws-echo" || arguments[1] == "ws-idle" else {
    print("usage: e2e-load ws-echo|ws-idle --port N --connections C [--size BYTES] [--seconds S] [--warmup S] [--hold S]")
    exit(64)
}
let mode = arguments[1]
let port = option("--port", 8080)
let connectionCount = option("--connections", 100)
let messageSize = option("--size", 20)
let seconds = option("--seconds", 5)
let warmup = option("--warmup", 1)
let hold = option("--hold", 10)

func now() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

func fail(_ message: String) -> Never {
    var text = "e2e-load: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

// MARK: Connections

let payload: [UInt8] = (0..<messageSize).map { UInt8(ascii: "a") &+ UInt8($0 % 26) }

final class Client {
    let fd: Int32
    var connection: WebSocketConnection
    var connected = false
    var open = false
    var sentAt: UInt64 = 0
    /// Outbound bytes the socket did not take yet.
    var pending: [UInt8] = []
    var wantsWrite = false

    init(fd: Int32, index: Int) {
        self.fd = fd
        var configuration = WebSocketConfiguration(limits: WebSocketLimits(maxFrameSize: 1 << 24, maxMessageSize: 1 << 24))
        configuration.maskingKeys = .deterministic(seed: UInt64(index) &+ 1)
        do {
            let handshake = try WebSocketClientHandshake(
                authority: "127.0.0.1:\(port)", path: "/ws", key: "dGhlIHNhbXBsZSBub25jZQ==")
            connection = WebSocketConnection(client: handshake, configuration: configuration)
        } catch {
            fail("handshake: \(error)")
        }
    }
}

let epoll = epoll_create1(0)
guard epoll >= 0 else { fail("epoll_create1") }
var clients: [Int32: Client] = [:]
var started = 0
var openCount = 0
var errors = 0
var completed = 0
var measuring = false
var latencies: [UInt32] = []  // tenths of a microsecond
latencies.reserveCapacity(1 << 22)

@MainActor
func startConnection(index: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { fail("socket: errno \(errno)") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 || errno == EINPROGRESS else { fail("connect: errno \(errno)") }
    clients[fd] = Client(fd: fd, index: index)
    _ = cepoll_ctl(epoll, EPOLL_CTL_ADD, fd, UInt32(EPOLLIN.rawValue | EPOLLOUT.rawValue))
}

/// Writes what the connection has to send (and what an earlier write left over).
@MainActor
func flush(_ client: Client) {
    if client.pending.isEmpty {
        client.connection.withOutbound { span in
            span.withUnsafeBufferPointer { buffer in
                guard buffer.count > 0 else { return }
                let written = write(client.fd, buffer.baseAddress, buffer.count)
                if written == buffer.count { return }
                let taken = max(written, 0)
                client.pending.append(contentsOf: buffer[taken...])
            }
        }
    } else {
        client.pending += client.connection.takeOutbound()
    }
    while !client.pending.isEmpty {
        let written = client.pending.withUnsafeBytes { write(client.fd, $0.baseAddress, $0.count) }
        if written <= 0 { break }
        client.pending.removeFirst(written)
    }
    let wants = !client.pending.isEmpty
    if wants != client.wantsWrite {
        client.wantsWrite = wants
        _ = cepoll_ctl(epoll, EPOLL_CTL_MOD, client.fd, UInt32(EPOLLIN.rawValue | (wants ? EPOLLOUT.rawValue : 0)))
    }
}

@MainActor
func sendMessage(_ client: Client) {
    do {
        try client.connection.sendMessage(.text, payload.span)
    } catch {
        fail("send: \(error)")
    }
    client.sentAt = now()
    flush(client)
}

@MainActor
func drop(_ client: Client) {
    errors += 1
    if client.open { openCount -= 1 }
    _ = cepoll_ctl(epoll, EPOLL_CTL_DEL, client.fd, 0)
    close(client.fd)
    clients[client.fd] = nil
}

var readBuffer = [UInt8](repeating: 0, count: 1 << 16)

@MainActor
func readable(_ client: Client) {
    while true {
        let count = readBuffer.withUnsafeMutableBytes { read(client.fd, $0.baseAddress, $0.count) }
        if count > 0 {
            readBuffer.withUnsafeBufferPointer { client.connection.receive(UnsafeBufferPointer(rebasing: $0[..<count]).span) }
            if count < readBuffer.count { break }
        } else if count == 0 {
            client.connection.receiveEOF()
            break
        } else {
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            drop(client)
            return
        }
    }
    do {
        while let event = try client.connection.nextEvent() {
            switch event {
            case .accepted:
                client.open = true
                openCount += 1
                if mode == "ws-echo" { sendMessage(client) }
            case .text(let text):
                let elapsed = now() &- client.sentAt
                // Only a reply that is the message sent counts; anything else ends the run.
                var reply = text
                let same = reply.withUTF8 { received in
                    received.count == payload.count
                        && payload.withUnsafeBufferPointer { $0.isEmpty || memcmp(received.baseAddress!, $0.baseAddress!, $0.count) == 0 }
                }
                guard same else { fail("connection \(client.fd): the reply differs from the message sent") }
                if measuring {
                    completed += 1
                    latencies.append(UInt32(truncatingIfNeeded: min(elapsed / 100, UInt64(UInt32.max))))
                }
                sendMessage(client)
            case .binary:
                fail("connection \(client.fd): a binary reply to a text message")
            case .closed:
                drop(client)
                return
            default:
                break
            }
        }
    } catch {
        drop(client)
        return
    }
    flush(client)
}

var events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 512)

/// Runs the loop until `deadline` (monotonic ns), starting connections while fewer than
/// `target` exist (at most 256 handshakes in flight).
@MainActor
func runLoop(until deadline: UInt64, target: Int, untilOpen: Bool = false) {
    while true {
        while started < target && started - openCount - errors < 256 {
            startConnection(index: started)
            started += 1
        }
        let time = now()
        if time >= deadline { return }
        if untilOpen && openCount &+ errors >= target { return }
        let timeout = Int32(min((deadline - time) / 1_000_000, 100))
        let ready = epoll_wait(epoll, events, 512, timeout)
        if ready < 0 {
            if errno == EINTR { continue }
            fail("epoll_wait: errno \(errno)")
        }
        for index in 0..<Int(ready) {
            let fd = cepoll_fd(events, Int32(index))
            let flags = cepoll_flags(events, Int32(index))
            guard let client = clients[fd] else { continue }
            if !client.connected && flags & UInt32(EPOLLOUT.rawValue) != 0 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0 else {
                    drop(client)
                    continue
                }
                client.connected = true
                client.wantsWrite = true
                flush(client)  // the Upgrade request
            } else if flags & UInt32(EPOLLOUT.rawValue) != 0 {
                flush(client)
            }
            if flags & UInt32(EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                readable(client)
            }
        }
    }
}

// MARK: Modes

signal(SIGPIPE, SIG_IGN)
if mode == "ws-echo" {
    // Every connection open first (at most 30 s: a loaded machine is slow to accept), then
    // the warm-up, then the measured seconds.
    runLoop(until: now() + 30_000_000_000, target: connectionCount, untilOpen: true)
    guard openCount == connectionCount else { fail("only \(openCount) of \(connectionCount) connections opened") }
    runLoop(until: now() + UInt64(warmup) * 1_000_000_000, target: connectionCount)
    guard openCount == connectionCount else { fail("\(connectionCount - openCount) connections closed during the warm-up") }
    measuring = true
    let start = now()
    runLoop(until: start + UInt64(seconds) * 1_000_000_000, target: connectionCount)
    let elapsed = Double(now() - start) / 1e9
    measuring = false
    latencies.sort()
    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 10
    }
    if errors > 0 { fail("\(errors) connections failed or were closed during the run") }
    let rate = Double(completed) / elapsed
    print("{\"messages_per_s\":\(Int(rate.rounded())),\"p50_us\":\(percentile(0.5)),\"p99_us\":\(percentile(0.99)),\"errors\":\(errors)}")
} else {
    runLoop(until: .max, target: connectionCount, untilOpen: true)
    print("READY \(openCount)")
    fflush(nil)
    runLoop(until: now() + UInt64(hold) * 1_000_000_000, target: connectionCount)
    if errors > 0 { fail("\(errors) connections failed") }
}
for (fd, _) in clients { close(fd) }

extension WebSocketFrameParser {
    /// Fast path for the common case of many small frames in one read: calls `body` once for
    /// each frame that lies *wholly* in `input[start...]`, with its validated header and its
    /// payload piece (a range of `input`, still masked, phase 0), and returns the bytes consumed.
    ///
    /// It stops, without consuming it, at the first frame that is not complete in the input,
    /// when the parser is inside a frame, or when `body` returns `false`; continue with
    /// ``parse(_:from:)`` from `start + consumed` (the two can be mixed freely). A protocol
    /// error is thrown exactly as ``parse(_:from:)`` would throw it.
    ///
    /// One call per frame instead of three steps (head, payload, end) saves the step values
    /// on the hot path; nothing is copied or allocated.
    @inlinable
    public mutating func parseCompleteFrames(
        _ input: Span<UInt8>, from start: Int = 0,
        _ body: (WebSocketFrameHeader, WebSocketPayloadPiece) -> Bool
    ) throws(WebSocketProtocolError) -> Int {
        precondition(start >= 0 && start <= input.count, "start out of bounds")
        var offset = start
        while state == .header && pendingCount == 0 {
            let available = input.count &- offset
            if available < 2 { break }
            // Peek at the length: only a frame whose payload is all here is taken (an invalid
            // or too-long length goes on to `parseHeader`, which reports it).
            let b1 = input[offset &+ 1]
            let size = headerSize(0, b1)
            if available < size { break }
            let len7 = b1 & 0x7F
            var length = UInt64(len7)
            if len7 == 126 {
                length = UInt64(input[offset &+ 2]) << 8 | UInt64(input[offset &+ 3])
            } else if len7 == 127 {
                length = 0
                for i in 2..<10 { length = length << 8 | UInt64(input[offset &+ i]) }
            }
            if length > UInt64(available &- size) && length <= UInt64(maxFrameSize) { break }
            let step = try parseHeader(input, from: offset)
            guard case .head(let header) = step.event else { break }
            offset &+= step.consumed
            let n = header.payloadLength
            let piece = WebSocketPayloadPiece(range: offset..<(offset &+ n), maskingKey: header.maskingKey, payloadOffset: 0)
            offset &+= n
            streamOffset &+= n
            remaining = 0
            payloadOffset = n
            state = .header
            if !body(header, piece) { break }
        }
        return offset &- start
    }
}

/// An incremental UTF-8 validator (RFC 3629, as RFC 6455 §5.6 and §8.1 require for text).
///
/// Feed it the bytes of a text message in pieces split anywhere; it reports the index of the
/// first invalid byte of the piece in which that byte arrives. Overlong forms, surrogates
/// (U+D800–DFFF), code points above U+10FFFF and stray continuation bytes are invalid; a
/// sequence cut off by the end of the message is caught by ``finish()``.
///
/// The bytes run through a shift DFA (nine states, each a 6-bit offset; one table word per
/// byte value holds every state's successor, so a step is one load that depends only on the
/// byte and one shift that depends on the state: about a cycle per byte, whatever the
/// script). ASCII runs are skipped 32 bytes per test when no sequence is open. Only when a piece
/// fails does a byte-at-a-time pass over that piece find the index of the first invalid byte.
package struct UTF8Validator: Sendable, Hashable {
    /// The DFA state between pieces (one of the `State` offsets).
    @usableFromInline var state: UInt8 = State.accept
    @usableFromInline var failed = false

    package init() {}

    /// Whether the bytes so far end on a character boundary (no sequence is half-read) and
    /// nothing invalid was seen.
    @inlinable
    package var isComplete: Bool { state == State.accept && !failed }

    /// Whether an invalid byte was seen.
    @inlinable
    package var hasFailed: Bool { failed }

    /// Validates the next piece. Returns `nil` when it is valid so far, or the index in `bytes`
    /// of the first invalid byte (after which the validator stays failed).
    @inlinable
    package mutating func validate(_ bytes: Span<UInt8>) -> Int? {
        if failed { return 0 }
        let result = bytes.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress else { return nil }
            return validate(base, count: raw.count)
        }
        if result != nil { failed = true }
        return result
    }

    /// Ends the text: returns `false` if a sequence is unfinished (or anything failed) and
    /// resets the validator for the next message.
    @inlinable
    package mutating func finish() -> Bool {
        let ok = isComplete
        self = UTF8Validator()
        return ok
    }

    /// Whether `bytes` is entirely valid UTF-8.
    @inlinable
    package static func isValid(_ bytes: Span<UInt8>) -> Bool {
        var v = UTF8Validator()
        return v.validate(bytes) == nil && v.finish()
    }

    // MARK: The DFA

    /// The states, as the shift amounts at which each one's successor lies in a table word.
    @usableFromInline
    enum State {
        /// Absorbing: every byte leads back here (table bits 0...5 are zero).
        @usableFromInline static let error: UInt8 = 0
        /// Between characters.
        @usableFromInline static let accept: UInt8 = 6
        /// One, two or three continuation bytes (80–BF) still expected.
        static let need1: UInt8 = 12
        static let need2: UInt8 = 18
        static let need3: UInt8 = 24
        /// After E0 (next A0–BF: no overlong), ED (next 80–9F: no surrogate), F0 (next 90–BF:
        /// no overlong), F4 (next 80–8F: nothing above U+10FFFF) (RFC 3629 §4).
        static let afterE0: UInt8 = 30
        static let afterED: UInt8 = 36
        static let afterF0: UInt8 = 42
        static let afterF4: UInt8 = 48
    }

    /// For each byte value, the successor of every state, each at its state's shift.
    static let table: [UInt64] = (0..<256).map { value in
        let b = UInt8(value)
        func next(_ state: UInt8) -> UInt8 {
            let continuation = b & 0xC0 == 0x80
            switch state {
            case State.accept:
                switch b {
                case 0x00...0x7F: return State.accept
                case 0xC2...0xDF: return State.need1
                case 0xE0: return State.afterE0
                case 0xE1...0xEC, 0xEE...0xEF: return State.need2
                case 0xED: return State.afterED
                case 0xF0: return State.afterF0
                case 0xF1...0xF3: return State.need3
                case 0xF4: return State.afterF4
                default: return State.error
                }
            case State.need1: return continuation ? State.accept : State.error
            case State.need2: return continuation ? State.need1 : State.error
            case State.need3: return continuation ? State.need2 : State.error
            case State.afterE0: return (0xA0...0xBF).contains(b) ? State.need1 : State.error
            case State.afterED: return (0x80...0x9F).contains(b) ? State.need1 : State.error
            case State.afterF0: return (0x90...0xBF).contains(b) ? State.need2 : State.error
            case State.afterF4: return (0x80...0x8F).contains(b) ? State.need2 : State.error
            default: return State.error
            }
        }
        var word: UInt64 = 0
        for state in stride(from: State.accept, through: State.afterF4, by: 6) {
            word |= UInt64(next(state)) << UInt64(state)
        }
        return word
    }

    @usableFromInline
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Runs the DFA over the piece; on failure, finds the first invalid byte byte by byte.
    @usableFromInline
    mutating func validate(_ p: UnsafeRawPointer, count n: Int) -> Int? {
        let start = state
        let end = Self.table.withUnsafeBufferPointer { table -> UInt8 in
            let t = table.baseAddress!
            var s = UInt64(start)
            var i = 0
            while i &+ 16 <= n {
                let w0 = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let w1 = p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
                i &+= 16
                let current = s & 63
                if (w0 | w1) & Self.highBits == 0 && current == UInt64(State.accept) {
                    // An ASCII run: 32 bytes per test until it ends.
                    while i &+ 32 <= n {
                        let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                            | p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
                            | p.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self)
                            | p.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
                        if w & Self.highBits != 0 { break }
                        i &+= 32
                    }
                    continue
                }
                if current == UInt64(State.error) { return State.error }
                s = Self.steps(t, p + (i &- 16), s)
            }
            while i < n {
                s = t[Int(p.load(fromByteOffset: i, as: UInt8.self))] &>> s
                i &+= 1
            }
            return UInt8(truncatingIfNeeded: s & 63)
        }
        if end != State.error {
            state = end
            return nil
        }
        return Self.firstInvalid(p, count: n, from: start)
    }

    /// Sixteen DFA steps over the bytes at `q`.
    @inline(__always)
    static func steps(_ t: UnsafePointer<UInt64>, _ q: UnsafeRawPointer, _ state: UInt64) -> UInt64 {
        var s = state
        s = t[Int(q.load(fromByteOffset: 0, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 1, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 2, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 3, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 4, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 5, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 6, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 7, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 8, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 9, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 10, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 11, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 12, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 13, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 14, as: UInt8.self))] &>> s
        s = t[Int(q.load(fromByteOffset: 15, as: UInt8.self))] &>> s
        return s
    }

    /// The index of the first invalid byte of a piece the DFA rejected, entered in `state`.
    static func firstInvalid(_ p: UnsafeRawPointer, count n: Int, from state: UInt8) -> Int {
        var s = UInt64(state)
        return table.withUnsafeBufferPointer { t -> Int in
            for i in 0..<n {
                s = t[Int(p.load(fromByteOffset: i, as: UInt8.self))] &>> s
                if s & 63 == UInt64(State.error) { return i }
            }
            return max(n &- 1, 0)  // not reached: the same DFA rejected this piece
        }
    }
}

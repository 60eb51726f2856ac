import CNIOLLHTTP

/// llhttp (the C parser that swift-nio vendors as CNIOLLHTTP) driven directly, with the
/// minimal callbacks a C user writes: offsets of the target and of every field name and
/// value into the buffer being parsed, the body slices, and the number of messages.
final class LLHTTPPeer {
    /// What the callbacks record, kept where `parser.data` points.
    struct Record {
        var base: UnsafePointer<CChar>? = nil
        var targetStart: Int32 = 0
        var targetLength: Int32 = 0
        /// Name start, name length, value start, value length for each field.
        var fields: UnsafeMutablePointer<Int32>
        var fieldCount = 0
        var lastWasValue = true
        var bodyBytes = 0
        var bodySlices = 0
        var messages = 0
        var heads = 0
    }

    static let fieldCapacity = 256
    let parser: UnsafeMutablePointer<llhttp_t>
    let settings: UnsafeMutablePointer<llhttp_settings_t>
    let record: UnsafeMutablePointer<Record>

    init(response: Bool) {
        parser = .allocate(capacity: 1)
        settings = .allocate(capacity: 1)
        record = .allocate(capacity: 1)
        record.initialize(to: Record(fields: .allocate(capacity: 4 * Self.fieldCapacity)))
        c_nio_llhttp_settings_init(settings)
        settings.pointee.on_message_begin = { parser in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            record.pointee.fieldCount = 0
            record.pointee.lastWasValue = true
            return 0
        }
        settings.pointee.on_url = { parser, at, length in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            record.pointee.targetStart = Int32(at! - record.pointee.base!)
            record.pointee.targetLength = Int32(length)
            return 0
        }
        settings.pointee.on_header_field = { parser, at, length in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            if record.pointee.lastWasValue {
                // A new field: bounded like any C user's fixed array.
                guard record.pointee.fieldCount < LLHTTPPeer.fieldCapacity else { return -1 }
                let slot = record.pointee.fields + 4 * record.pointee.fieldCount
                slot[0] = Int32(at! - record.pointee.base!)
                slot[1] = Int32(length)
                slot[2] = 0
                slot[3] = 0
                record.pointee.fieldCount += 1
                record.pointee.lastWasValue = false
            } else {
                record.pointee.fields[4 * (record.pointee.fieldCount - 1) + 1] += Int32(length)
            }
            return 0
        }
        settings.pointee.on_header_value = { parser, at, length in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            let slot = record.pointee.fields + 4 * (record.pointee.fieldCount - 1)
            if record.pointee.lastWasValue {
                slot[3] += Int32(length)
            } else {
                slot[2] = Int32(at! - record.pointee.base!)
                slot[3] = Int32(length)
                record.pointee.lastWasValue = true
            }
            return 0
        }
        settings.pointee.on_headers_complete = { parser in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            record.pointee.heads += 1
            return 0
        }
        settings.pointee.on_body = { parser, _, length in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            record.pointee.bodyBytes += length
            record.pointee.bodySlices += 1
            return 0
        }
        settings.pointee.on_message_complete = { parser in
            let record = parser!.pointee.data.assumingMemoryBound(to: Record.self)
            record.pointee.messages += 1
            record.pointee.lastWasValue = true
            return 0
        }
        c_nio_llhttp_init(parser, response ? HTTP_RESPONSE : HTTP_REQUEST, settings)
        parser.pointee.data = UnsafeMutableRawPointer(record)
    }

    deinit {
        record.pointee.fields.deallocate()
        record.deinitialize(count: 1)
        record.deallocate()
        settings.deallocate()
        parser.deallocate()
    }

    /// Parses `bytes`, which hold whole messages; the record describes the last head.
    @inline(__always)
    func parse(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        record.pointee.base = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
        let status = c_nio_llhttp_execute_swift(parser, bytes.baseAddress, bytes.count)
        guard status == HPE_OK else { fatalError("llhttp: \(String(cString: c_nio_llhttp_errno_name(status)))") }
        return UInt64(record.pointee.fieldCount) &+ UInt64(record.pointee.targetLength)
    }

    /// The digest of one `parse` of `bytes` (see `HTTPDigest`).
    func digest(_ bytes: [UInt8]) -> String {
        record.pointee.messages = 0
        record.pointee.heads = 0
        record.pointee.bodyBytes = 0
        var digest = HTTPDigest()
        bytes.withUnsafeBytes { buffer in
            _ = parse(buffer)
            let r = record.pointee
            func text(_ start: Int32, _ length: Int32) -> String {
                String(decoding: buffer[Int(start)..<Int(start + length)], as: UTF8.self)
            }
            digest.messages = r.messages
            digest.heads = r.heads
            digest.bodyBytes = r.bodyBytes
            digest.lastStartLine = parser.pointee.type == UInt8(HTTP_RESPONSE.rawValue)
                ? "\(parser.pointee.status_code)"
                : String(cString: c_nio_llhttp_method_name(llhttp_method_t(UInt32(parser.pointee.method))))
                    + " " + text(r.targetStart, r.targetLength)
            for index in 0..<r.fieldCount {
                let slot = r.fields + 4 * index
                digest.lastFields.append((text(slot[0], slot[1]), text(slot[2], slot[3])))
            }
        }
        return digest.description
    }
}

/// What a subject decoded from a buffer of HTTP messages, in words every subject can give:
/// messages, heads, body bytes, and the start line and fields of the last head.
struct HTTPDigest: CustomStringConvertible {
    var messages = 0
    var heads = 0
    var bodyBytes = 0
    var lastStartLine = ""
    var lastFields: [(String, String)] = []

    var description: String {
        "messages=\(messages) heads=\(heads) body=\(bodyBytes) last=\(lastStartLine) "
            + lastFields.map { "\($0.0.lowercased())=\($0.1)" }.joined(separator: "|")
    }
}

import WireCodec

/// The `wirecodec` subject of each workload; nil while that layer of the codec has not landed.
enum CodecSubjects {
    static func parseRequests(_ input: [UInt8]) -> BenchCase? { nil }
    static func parseResponses(_ input: [UInt8]) -> BenchCase? { nil }
    static func serializeResponse() -> BenchCase? { nil }
    static func decodeFrames(_ input: [UInt8], expectedFrames: Int) -> BenchCase? { nil }
    static func assembleMessage(_ input: [UInt8]) -> BenchCase? { nil }
    static func validateUTF8(_ input: [UInt8]) -> BenchCase? { nil }
    static func encodeFrame() -> BenchCase? { nil }
    static func inflate(_ inputs: DeflateInputs) -> BenchCase? { nil }
    static func deflate(_ inputs: DeflateInputs) -> BenchCase? { nil }
}

extension CodecSubjects {
    /// Idle connection states of the codec (filled in as the connection types land).
    static func memory() -> [MemoryResult] { [] }
}

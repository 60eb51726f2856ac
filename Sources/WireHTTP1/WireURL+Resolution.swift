extension WireURL {
    /// Resolves a URI reference against this URL (RFC 3986 §5.2): what a `Location` field
    /// means (RFC 9110 §10.2.2 allows relative references there).
    ///
    /// - An absolute URL (`https://other/x`) stands for itself.
    /// - A network-path reference (`//other/x`) keeps our scheme.
    /// - An absolute path (`/x`), a relative path (`x`, `../x`), a query (`?q`) or an empty
    ///   reference keep our authority; dot segments are removed (§5.2.4).
    ///
    /// - Throws: ``WireURLError`` when the result is not a valid absolute URL with a host.
    public func resolving(_ reference: String) throws(WireURLError) -> WireURL {
        let bytes = Array(Self.trimmed(Array(reference.utf8)))
        for byte in bytes where byte < 0x20 || byte == 0x7F { throw WireURLError(.invalidCharacter) }
        // A scheme: scheme characters up to a colon, before any `/`, `?` or `#`.
        var i = 0
        while i < bytes.count, Self.isSchemeByte(bytes[i], first: i == 0) { i += 1 }
        if i > 0, i < bytes.count, bytes[i] == UInt8(ascii: ":") {
            return try WireURL(String(decoding: bytes, as: UTF8.self))
        }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "/"), bytes[1] == UInt8(ascii: "/") {
            return try WireURL(scheme: scheme, afterSlashes: bytes[2...])
        }
        var result = self
        let fragmentStart = bytes.firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
        let beforeFragment = bytes[0..<fragmentStart]
        let queryStart = beforeFragment.firstIndex(of: UInt8(ascii: "?")) ?? beforeFragment.endIndex
        let referencePath = beforeFragment[0..<queryStart]
        let referenceQuery = queryStart < fragmentStart ? Self.encodedForTarget(bytes[(queryStart + 1)..<fragmentStart]) : nil
        result.fragment = fragmentStart < bytes.endIndex ? Self.encodedForTarget(bytes[(fragmentStart + 1)...]) : nil
        if referencePath.isEmpty {
            result.query = referenceQuery ?? query
            return result
        }
        let pathText = Self.encodedForTarget(referencePath)
        if referencePath.first == UInt8(ascii: "/") {
            result.path = Self.removingDotSegments(pathText)
        } else {
            // §5.2.3: everything of the base path up to its last `/`, then the reference.
            let base = path
            let directory = base.lastIndex(of: "/").map { String(base[...$0]) } ?? "/"
            result.path = Self.removingDotSegments(directory + pathText)
        }
        if result.path.isEmpty { result.path = "/" }
        result.query = referenceQuery
        return result
    }

    /// RFC 3986 §5.2.4: `.` and `..` segments removed from an absolute path.
    static func removingDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()  // before the first `/`
        var trailingSlash = false
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case ".":
                trailingSlash = last
            case "..":
                if !output.isEmpty { output.removeLast() }
                trailingSlash = last
            default:
                output.append(segment)
                trailingSlash = false
            }
        }
        var result = "/" + output.joined(separator: "/")
        if trailingSlash && !result.hasSuffix("/") { result += "/" }
        return result
    }
}

import HTTPTypes
import WireHTTP1

extension EventSourceClient {
    static let lastEventIDField = HTTPField.Name("Last-Event-ID")!
    /// Fields the client sets itself; the caller's copies are dropped.
    static let ownFields: Set<String> = ["host", "accept", "cache-control", "last-event-id"]
    /// Credentials not sent to another origin after a redirect (Fetch drops `Authorization`
    /// on a cross-origin redirect; cookies belong to their origin).
    static let originBoundFields: Set<String> = ["authorization", "cookie", "proxy-authorization"]

    /// The request of one attempt (§9.2.2 steps: `Accept`, cache mode no-store; §9.2.3:
    /// `Last-Event-ID` when the last event ID string is not empty).
    func request(for target: WireURL, crossedOrigin: Bool) -> HTTPRequest {
        var fields = HTTPFields()
        fields[.accept] = "text/event-stream"
        fields[.cacheControl] = "no-store"
        // A field value cannot start or end with whitespace (RFC 9110 §5.5); an id can.
        let id = Self.trimmedWhitespace(parser.lastEventID)
        if !id.isEmpty { fields[Self.lastEventIDField] = id }
        for field in configuration.headerFields {
            let name = field.name.canonicalName
            if Self.ownFields.contains(name) { continue }
            if crossedOrigin && Self.originBoundFields.contains(name) { continue }
            fields.append(field)
        }
        return HTTPRequest(method: .get, scheme: target.scheme, authority: target.hostHeader, path: target.requestTarget, headerFields: fields)
    }

    /// §9.2.3 "process the response": redirect, open, or fail.
    mutating func respond(to head: HTTP1ResponseHead, from target: WireURL, redirects: Int, crossedOrigin: Bool) {
        let response: HTTPResponse
        do {
            response = try head.httpResponse()
        } catch {
            reestablish(.malformedResponse(error))
            return
        }
        let status = head.status
        if [301, 302, 303, 307, 308].contains(status), let location = response.headerFields[.location] {
            redirect(status: status, location: location, from: target, redirects: redirects, crossedOrigin: crossedOrigin)
            return
        }
        if status == 204 {
            fail(.noContent)
            return
        }
        guard status == 200 else {
            fail(.status(status, reason: head.reason))
            return
        }
        let type = response.headerFields[values: .contentType]
        guard Self.isEventStream(type) else {
            fail(.contentType(type.isEmpty ? nil : type.joined(separator: ", ")))
            return
        }
        open(response)
    }

    /// Fetch's HTTP-redirect fetch (follow mode), with our two refusals.
    private mutating func redirect(status: Int, location: String, from target: WireURL, redirects: Int, crossedOrigin: Bool) {
        guard redirects < configuration.maxRedirects else {
            fail(.redirect("too-many-redirects", status: status))
            return
        }
        let next: WireURL
        do {
            next = try target.resolving(location)
        } catch {
            fail(.redirect("invalid-location", status: status))
            return
        }
        guard next.scheme == "http" || next.scheme == "https" else {
            fail(.redirect("unsupported-scheme", status: status))
            return
        }
        guard !(target.isSecure && !next.isSecure) else {
            fail(.redirect("insecure-redirect", status: status))
            return
        }
        let crossed = crossedOrigin || !Self.sameOrigin(next, url)
        follow(to: next, redirects: redirects + 1, crossedOrigin: crossed)
        pending.append(.redirected(to: next, status: status))
    }

    static func sameOrigin(_ a: WireURL, _ b: WireURL) -> Bool {
        a.scheme == b.scheme && a.host == b.host && a.effectivePort == b.effectivePort
    }

    /// Whether the `Content-Type` values name `text/event-stream`: the last value's essence
    /// (type/subtype before any parameter, ASCII case-insensitive), as Fetch's "extract a MIME
    /// type" keeps the last one.
    static func isEventStream(_ values: [String]) -> Bool {
        guard let last = values.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: true) }).last else { return false }
        let essence = last.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return trimmedWhitespace(String(essence)).lowercased() == "text/event-stream"
    }

    static func trimmedWhitespace(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

// The one import users need: `import WireCodec` brings every codec module and the HTTP types
// their APIs speak (`HTTPRequest`, `HTTPResponse`, `HTTPFields` from swift-http-types).
@_exported public import HTTPTypes
@_exported public import WireCore
@_exported public import WireHTTP1
@_exported public import WireWebSocket
@_exported public import WireSSE

// The one import users need: `import WireCodec` brings every codec module.
@_exported public import WireCore
@_exported public import WireHTTP1
@_exported public import WireWebSocket
@_exported public import WireSSE

// Every fuzz target, by name (`fuzz.sh` runs them in this order).
let allTargets: [FuzzTarget] = [
    httpRequestTarget,
    httpResponseTarget,
    httpResponseHeadTarget,
    httpChunkedTarget,
    httpConnectionServerTarget,
    httpConnectionClientTarget,
    wsFrameServerTarget,
    wsFrameClientTarget,
    wsAssemblerTarget,
    pmdInflateTarget,
    wsDecoderTarget,
    extensionHeaderTarget,
    wsHandshakeServerTarget,
    wsConnectionServerTarget,
    wsConnectionClientTarget,
]

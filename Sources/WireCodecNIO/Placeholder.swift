public import WireCodec
import NIOCore

import WireCodec
import NIOCore

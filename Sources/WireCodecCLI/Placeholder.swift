public import WireCodec

public import WireCore

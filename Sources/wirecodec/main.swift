import ArgumentParser
import WireCodecCLI

print("wirecodec: not yet implemented")

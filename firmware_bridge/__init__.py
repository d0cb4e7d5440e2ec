"""Device wire protocols (pure codecs) and simulators."""

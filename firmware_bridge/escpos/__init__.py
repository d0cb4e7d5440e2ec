"""ESC/POS ticket printers: document model, encoder, status codec, stream parser, renderer, simulator.

The pure parts (document, encoder, status, parser) are shared by the driver
(``kiosk.devices.printer``) and the simulator, so both always agree about the wire.
"""

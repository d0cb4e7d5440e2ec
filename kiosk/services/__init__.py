"""What a citizen is doing at the terminal: sessions and flows over the devices and the gateway.

Screens talk only to this layer (through :class:`kiosk.services.facade.Services`), never to
drivers or the gateway directly.
"""

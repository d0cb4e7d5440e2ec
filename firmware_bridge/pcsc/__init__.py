"""PC/SC smart cards: APDU codec, status-word table, card profiles as data, and a virtual card.

- :mod:`.apdu` builds and parses APDUs and runs one command to completion (61xx/6Cxx);
- :mod:`.sw` is the one status-word table that maps SW1SW2 to typed errors;
- :mod:`.profile` loads a card profile (``profiles/*.toml``) and reads/encodes its fields;
- :mod:`.vicc` is a virtual card that speaks vsmartcard's vpcd socket protocol;
- :mod:`.stack` starts a private pcscd with the vpcd driver for tests and the demo.
"""

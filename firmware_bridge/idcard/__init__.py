"""The resident ID-card reader's serial "SAM/GB" protocol: codec, status table, identity parser, simulator.

- :mod:`.codec`     frames <-> bytes, the incremental decoder, the read-response payload (pure);
- :mod:`.status`    the SW3 status table (data, one place);
- :mod:`.identity`  the 256-byte UCS-2 text block <-> :class:`~.identity.Identity` (pure);
- :mod:`.errors`    typed protocol and identity errors;
- :mod:`.simulator` a reader on a real pty that speaks the same codec (tests, demo, benchmarks).
"""

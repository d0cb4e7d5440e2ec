"""The codec fuzz tool: counts outcomes, registers codecs by function, fails on any exception."""
from __future__ import annotations

import random

from tools import fuzz_codecs


def test_idcard_fuzz_has_no_exceptions(capsys):
    assert fuzz_codecs.main(["--codec", "idcard", "--inputs", "3000", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "exceptions=0" in out and "frames=" in out and "typed_errors=" in out


def test_counts_cover_all_three_outcomes():
    counts = fuzz_codecs.run("idcard", 2000, seed=1)
    assert counts["frames"] > 0 and counts["typed_errors"] > 0 and counts["exceptions"] == 0
    assert counts["error:idcard.protocol.checksum"] > 0 and counts["error:idcard.identity"] > 0


def test_a_registered_codec_that_raises_is_counted_and_fails_the_run(capsys):
    @fuzz_codecs.register("always-broken")
    def broken(rng: random.Random):
        raise ValueError("bug")

    try:
        assert fuzz_codecs.run("always-broken", 5, show=0)["exceptions"] == 5
        assert fuzz_codecs.main(["--codec", "always-broken", "--inputs", "2"]) == 1
    finally:
        del fuzz_codecs.CODECS["always-broken"]
    capsys.readouterr()

"""Signed commands: valid ones accepted once; replayed, rolled back, expired, foreign, unsigned,
tampered or wrongly keyed ones refused with a typed reason, also after a restart."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from hall_central.admin import command_envelope
from hall_central.keys import CentralKeys
from kiosk.trust.commands import CommandVerifier
from kiosk.trust.keys import CommandRejected, TrustStore

T = "ZM-0001"
#: The tests' clock, read once at import; the keys are made valid from it (see test_codes.NOW:
#: a suite reaching these tests more than 300 s after collection saw key_expired everywhere).
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def central(tmp_path):
    return CentralKeys(tmp_path / "keys", now_s=NOW.timestamp())


def _verifier(tmp_path, central, now=NOW):
    store = TrustStore(tmp_path / "state", central.root_public)
    store.install_keyset(central.keyset()) if store.keyset is None else None
    return CommandVerifier(store, T, now=lambda: now.timestamp())


def _cmd(central, seq, op="print.test", args=None, target=T, now=NOW, ttl_s=600):
    return command_envelope(target, op, args or {}, seq, now, ttl_s=ttl_s, keys=central).to_dict()


def test_valid_command_accepted_once_then_replay_refused_even_after_restart(tmp_path, central):
    v = _verifier(tmp_path, central)
    first = _cmd(central, 1)
    v.accept(first)
    with pytest.raises(CommandRejected) as e:
        v.accept(first)
    assert e.value.why == "replayed"
    v.accept(_cmd(central, 5))
    restarted = _verifier(tmp_path, central)
    assert restarted.store.last_command_seq == 5
    for seq in (1, 4, 5):  # replay and rollback
        with pytest.raises(CommandRejected) as e:
            restarted.accept(_cmd(central, seq))
        assert e.value.why == "replayed"
    restarted.accept(_cmd(central, 6))


@pytest.mark.parametrize("why,mutate", [
    ("expired", lambda c, env: _cmd(c, 1, now=NOW - dt.timedelta(hours=2))),
    ("too_long", lambda c, env: _cmd(c, 1, ttl_s=30 * 24 * 3600)),
    ("foreign", lambda c, env: _cmd(c, 1, target="ZM-0002")),
    ("unsigned", lambda c, env: {**env, "body": {k: v for k, v in env["body"].items() if k != "sig"}}),
    ("bad_signature", lambda c, env: {**env, "op": "restart"}),
    ("bad_signature", lambda c, env: {**env, "body": {**env["body"], "seq": 99}}),
    ("bad_signature", lambda c, env: {**env, "body": {**env["body"], "args": {"x": 1}}}),
    ("bad_signature", lambda c, env: {**env, "body": {**env["body"], "target": "ZM-0002"}}),
    ("unknown_key", lambda c, env: {**env, "body": {**env["body"], "sig": "command-9." + env["body"]["sig"].split(".")[1]}}),
    ("wrong_use", lambda c, env: {**env, "body": {**env["body"], "sig": c.meta["code_kid"] + "." + env["body"]["sig"].split(".")[1]}}),
    ("malformed", lambda c, env: {**env, "body": {**env["body"], "seq": "7"}}),
    ("malformed", lambda c, env: "not a dict"),
])
def test_refusals(tmp_path, central, why, mutate):
    v = _verifier(tmp_path, central)
    bad = mutate(central, _cmd(central, 1))
    with pytest.raises(CommandRejected) as e:
        v.accept(bad)
    assert e.value.why == why and e.value.code == f"command.{why}"
    assert v.store.last_command_seq == 0  # a refused command never moves the sequence


def test_revoked_command_key(tmp_path, central):
    v = _verifier(tmp_path, central)
    old = _cmd(central, 1)
    central.rotate("command", now_s=NOW.timestamp(), revoke_old=True)
    v.store.install_keyset(central.keyset())
    with pytest.raises(CommandRejected) as e:
        v.accept(old)
    assert e.value.why == "revoked_key"
    v.accept(_cmd(central, 2))


def test_thousands_of_mutated_commands_are_refused(tmp_path, central):
    v = _verifier(tmp_path, central)
    good = _cmd(central, 10, op="announcement", args={"text": "今日下午停电"})
    rng = random.Random(7)
    fields = ["op", "terminal", "body.args", "body.target", "body.seq", "body.expires_at", "body.sig"]
    for _ in range(2000):
        env = {**good, "body": dict(good["body"])}
        f = rng.choice(fields)
        if f == "body.sig":
            s = env["body"]["sig"]
            pos = rng.randrange(len(s))
            env["body"]["sig"] = s[:pos] + rng.choice("ABCxyz019-_.") + s[pos + 1:]
            if env["body"]["sig"] == s:
                continue
        elif f == "body.seq":
            env["body"]["seq"] = rng.choice([0, 9, 11, -1, 2**40, True, None, "10"])
        elif f == "body.args":
            env["body"]["args"] = rng.choice([{}, {"text": "x"}, None, [], {"text": "今日下午停电 "}])
        elif f.startswith("body."):
            env["body"][f[5:]] = rng.choice(["", "ZM-0002", "2099-01-01T00:00:00Z", None, 5])
        else:
            env[f] = rng.choice(["restart", "print.test", "ZM-0002", "", None])
            if f == "terminal" and env[f] is None:
                continue  # the terminal field is not signed; a missing one is not a change
        with pytest.raises(CommandRejected):
            v.accept(env)
    assert v.store.last_command_seq == 0
    v.accept(good)


def test_signature_texts_that_decode_to_the_same_bytes_are_refused(tmp_path, central):
    # base64url's last character carries unused low bits: a text that differs only there decodes
    # to the same signature; the verifier takes only the canonical text.
    v = _verifier(tmp_path, central)
    good = _cmd(central, 10, op="announcement", args={"text": "今日下午停电"})
    kid, _, sig = good["body"]["sig"].partition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    twin = sig[:-1] + alphabet[last ^ 1]  # flips one of the two unused bits of a 64-byte signature
    for text in (twin, sig[:10] + "." + sig[10:], sig + "=="[:(-len(sig)) % 4] + "A"):
        env = {**good, "body": dict(good["body"], sig=f"{kid}.{text}")}
        with pytest.raises(CommandRejected):
            v.accept(env)
    v.accept(good)

"""Terminal configuration: TOML files validated against one declared schema.

Every key has a type, a default (or is required), a range or choice where it has one, and a
one-line doc with its unit; ``config/example.toml`` documents the same keys. Loading reports the
file, the dotted key and what was expected, and unknown keys are errors (a typo must not silently
fall back to a default). Relative paths are resolved against the config file's directory.

Device sections are open by role (``[devices.idcard]``, ``[devices.printer]``...; the roles are
:data:`kiosk.roles.ROLES`): the common keys (``driver``, ``url``, ``enabled``) are checked here,
and ``options`` is checked by the driver's own :class:`Field` table through :func:`validate_options`
when the registry builds it.
"""
from __future__ import annotations

import copy
import ipaddress
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from kiosk import roles
from kiosk.errors import ConfigError

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
_REGION_RE = re.compile(r"^[0-9]{6}$|^[0-9]{9}$|^[0-9]{12}$")


@dataclass(frozen=True)
class Field:
    """One config key: its type, default (``REQUIRED`` if none), bounds, choices and doc."""

    type: type | tuple[type, ...]
    default: Any = None
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    pattern: str | None = None
    path: bool = False  # resolve relative to the config file's directory
    required: bool = False

    def check(self, file: str, key: str, value: Any) -> Any:
        """Return the value if it fits, else raise :class:`ConfigError` naming file and key."""
        types: tuple[Any, ...] = self.type if isinstance(self.type, tuple) else (self.type,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in types:
            raise ConfigError(file, key, _type_name(types), value)
        if not isinstance(value, types):
            raise ConfigError(file, key, _type_name(types), value)
        if isinstance(value, float) and value != value:  # nan: every bound and comparison says False
            raise ConfigError(file, key, _type_name(types), value)
        if self.min is not None and value < self.min:
            raise ConfigError(file, key, f"a value >= {self.min}", value)
        if self.max is not None and value > self.max:
            raise ConfigError(file, key, f"a value <= {self.max}", value)
        if self.choices is not None and value not in self.choices:
            raise ConfigError(file, key, "one of " + ", ".join(map(repr, self.choices)), value)
        if self.pattern is not None and isinstance(value, str) and not re.fullmatch(self.pattern, value):
            raise ConfigError(file, key, f"a string matching {self.pattern}", value)
        return value


def _type_name(types: Iterable[type]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(t, t.__name__) for t in types)


# The schema: section -> key -> Field. Nested tables are dicts of Fields.
SCHEMA: dict[str, dict[str, Any]] = {
    "terminal": {
        "id": Field(str, required=True, pattern=_ID_RE.pattern,
                    doc="terminal id, unique in the city; letters, digits, - and _ (no personal data)"),
        "name": Field(str, "自助服务终端", doc="name shown on the home screen"),
        "name_en": Field(str, "Self-service terminal", doc="the same in English sessions"),
        "hall": Field(str, "政务服务大厅", doc="the hall or service point the terminal stands in"),
        "hall_en": Field(str, "Government Service Hall", doc="the hall's name in English sessions"),
        "hall_code": Field(str, "HALL-0001", doc="hall code: the audience of signed QR codes"),
        "profile": Field(str, "kiosk", choices=("kiosk", "mobile"),
                         doc="kiosk (landscape hall terminal) or mobile (staff tablet/phone)"),
        "region": {
            "city": Field(str, required=True, pattern=r"[0-9]{6}", doc="GB/T 2260 city code, e.g. 410100 (郑州市)"),
            "county": Field(str, "", pattern=r"([0-9]{6})?", doc="GB/T 2260 county code, e.g. 410122 (中牟县)"),
            "township": Field(str, "", pattern=r"([0-9]{9})?", doc="township code (county code + 3 digits)"),
            "village": Field(str, "", pattern=r"([0-9]{12})?", doc="village/community code (township + 3 digits)"),
        },
    },
    "runtime": {
        "state_dir": Field(str, "var", path=True, doc="directory for the outbox, caches and trust state"),
        "log_level": Field(str, "info", choices=("debug", "info", "warning", "error")),
        "language": Field(str, "zh_CN", choices=("zh_CN", "en"), doc="language at the start of a session"),
        "session_timeout_s": Field(float, 60.0, min=10, max=600, doc="inactivity before a session ends (s)"),
        "elder_timeout_s": Field(float, 120.0, min=10, max=900, doc="the same in elder mode (s)"),
        "elder_age": Field(int, 60, min=50, max=100, doc="age from which the longer timeout applies and large type is offered (years)"),
        "timezone": Field(str, "Asia/Shanghai", doc="the hall's time zone (IANA name)"),
        "min_free_mb": Field(int, 64, min=1, max=1_000_000,
                             doc="kiosk doctor fails below this much free space on the state dir's disk (MB)"),
    },
    "network": {
        "broker": Field(str, "mqtt://127.0.0.1:1883",
                        doc="broker URL, mqtt:// or mqtts:// (TLS); an IPv6 address in brackets (mqtts://[::1]:8883)"),
        "keepalive_s": Field(int, 30, min=5, max=600, doc="MQTT keepalive (s)"),
        "request_timeout_s": Field(float, 5.0, min=0.1, max=120, doc="default request/response timeout (s)"),
        "reconnect_min_s": Field(float, 0.1, min=0.01, max=60, doc="first reconnect delay (s); full jitter; at most reconnect_max_s"),
        "reconnect_max_s": Field(float, 5.0, min=0.1, max=600, doc="cap of the reconnect delay (s)"),
        "session_expiry_s": Field(int, 7 * 24 * 3600, min=0, max=2**32 - 1,
                                  doc="MQTT v5 session expiry: how long the broker keeps our session (s)"),
        "outbox_max_rows": Field(int, 10000, min=10, max=10_000_000,
                                 doc="outbox bound: at this depth new items are refused and staff alerted"),
        "dead_letter_after": Field(int, 5, min=1, max=1000,
                                   doc="unreadable answers to one outbox row before it is set aside as a dead "
                                       "letter (kept, never resent; staff and telemetry alerted)"),
        "ca_file": Field(str, "", path=True, doc="CA bundle for mqtts:// (the device CA)"),
        "cert_file": Field(str, "", path=True, doc="this terminal's client certificate (mqtts://)"),
        "key_file": Field(str, "", path=True, doc="this terminal's private key (mqtts://)"),
        "tls_insecure": Field(bool, False, doc="skip certificate checks (never in production)"),
        "profile": Field(str, "development", choices=("development", "production"),
                         doc="production refuses to start without mqtts://, certificate checks and client cert"),
    },
    "trust": {
        "root_key": Field(str, "", pattern=r"([A-Za-z0-9_-]{43}=?)?",
                          doc="pinned Ed25519 root public key (base64url) that signs key sets; empty = no "
                              "signed codes or commands are accepted"),
        "keyset_file": Field(str, "", path=True, doc="signed key set installed at start (provisioning)"),
        "command_max_ttl_s": Field(float, 86400.0, min=60, max=7 * 86400,
                                   doc="commands expiring further ahead than this are refused (s)"),
    },
    "ui": {
        "width": Field(int, 1280, min=320, max=7680, doc="window width (px)"),
        "height": Field(int, 800, min=320, max=7680, doc="window height (px)"),
        "fullscreen": Field(bool, False, doc="full screen without decorations (production kiosk)"),
        "font": Field(str, "", path=True, doc="CJK font file; empty = find Noto Sans CJK SC"),
        "maintenance_pin_hash": Field(str, "", doc="PBKDF2 hash of the staff PIN (kiosk pin-hash)"),
        "speech": Field(bool, True, doc="spoken prompts in elder mode where espeak-ng is installed"),
        "follow_url": Field(str, "https://kiosk.example.invalid/follow", pattern=r"https?://[^\s?#]+",
                            doc="the page a ticket's or slip's QR code opens on a citizen's phone (the city's "
                                "portal); it gets a token the central service issues, and the kiosk reads "
                                "its own codes back"),
    },
    "mobile": {
        "seal_key_file": Field(str, "", path=True,
                               doc="AES-256 key (32 bytes) sealing queued applications and photos at rest; "
                                   "empty = none (the device keystore hook is used first when registered)"),
        "seal_key_create": Field(bool, True, doc="create a random key file on first use when it is missing"),
        "upload_window": Field(int, 4, min=0, max=256,
                               doc="photo chunks in flight at most (0 = no limit); the rest wait for acks"),
        "chunk_bytes": Field(int, 48 * 1024, min=1024, max=48 * 1024, doc="photo chunk size (bytes)"),
        "photo_max_bytes": Field(int, 300_000, min=20_000, max=5_000_000,
                                 doc="JPEG size budget of one document photo (bytes)"),
        "photo_min_sharpness": Field(float, 60.0, min=0, max=100000,
                                     doc="variance of the Laplacian below which a photo is too blurred"),
        "photo_guide": Field(list, [0.08, 0.08, 0.84, 0.84],
                             doc="framing guide [x, y, w, h] as fractions of the frame; the photo is cropped to it"),
        "staff": Field(list, [], doc="staff who may sign in: [{id, name, pin_hash}] (pin_hash from "
                                     "`kiosk pin-hash`); a staff card must carry one of these ids"),
    },
}

#: Keys every ``[devices.<role>]`` table accepts; ``options`` is validated by the driver.
DEVICE_FIELDS: dict[str, Field] = {
    "driver": Field(str, required=True, doc="registry name, e.g. idcard.sam-serial, printer.escpos"),
    "url": Field(str, "", doc="where the device is: /dev/ttyUSB0, socket://h:p, tcp://h:p:9100, ..."),
    "enabled": Field(bool, True, doc="false keeps the device out of the runtime"),
    "options": Field(dict, None, doc="driver-specific options (see the driver's OPTIONS)"),
}


class Config:
    """A validated configuration: nested dicts with defaults filled in, read by dotted key."""

    def __init__(self, data: dict[str, Any], source: str = "<memory>") -> None:
        self.data = data
        self.source = source

    def get(self, dotted: str, default: Any = None) -> Any:
        """``cfg.get("network.broker")``."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def __getitem__(self, dotted: str) -> Any:
        value = self.get(dotted, _MISSING)
        if value is _MISSING:
            raise KeyError(dotted)
        return value

    @property
    def terminal_id(self) -> str:
        """This terminal's id."""
        terminal_id: str = self.data["terminal"]["id"]
        return terminal_id

    @property
    def regions(self) -> list[str]:
        """The terminal's region codes from city down to the most specific level set."""
        r = self.data["terminal"]["region"]
        return [r[k] for k in ("city", "county", "township", "village") if r.get(k)]

    def devices(self) -> dict[str, dict[str, Any]]:
        """Enabled device sections by role."""
        return {role: d for role, d in self.data.get("devices", {}).items() if d.get("enabled", True)}

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """A copy with dotted keys replaced (used by the demo for free ports), re-validated."""
        raw = copy.deepcopy(self.data)
        for dotted, value in overrides.items():
            node = raw
            parts = dotted.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        return Config(_validate(raw, self.source, base_dir=None), self.source)


_MISSING = object()


def _validate_table(schema: Mapping[str, Any], raw: Mapping[str, Any], file: str, prefix: str,
                    base_dir: Path | None) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(file, prefix.rstrip(".") or "<root>", "a table", raw)
    out: dict[str, Any] = {}
    for key in raw:
        if key not in schema:
            raise ConfigError(file, prefix + key, "a known key (see config/example.toml)", "unknown key")
    for key, spec in schema.items():
        dotted = prefix + key
        if isinstance(spec, dict):
            out[key] = _validate_table(spec, raw.get(key, {}), file, dotted + ".", base_dir)
            continue
        if key not in raw:
            if spec.required:
                raise ConfigError(file, dotted, f"a value ({spec.doc})", "missing")
            value = copy.deepcopy(spec.default)
        else:
            value = spec.check(file, dotted, raw[key])
        if spec.path and value:
            _check_path(file, dotted, value)
            if base_dir is not None and not Path(value).is_absolute():
                value = os.path.normpath(base_dir / value)
        out[key] = value
    return out


def _validate(raw: Mapping[str, Any], file: str, base_dir: Path | None) -> dict[str, Any]:
    top = dict(raw)
    devices = top.pop("devices", {})
    data = _validate_table(SCHEMA, top, file, "", base_dir)
    if not isinstance(devices, Mapping):
        raise ConfigError(file, "devices", "a table of device roles", devices)
    data["devices"] = {}
    for role, section in devices.items():
        if role not in roles.names():
            raise ConfigError(file, f"devices.{role}", "one of " + ", ".join(roles.names()), "unknown role")
        dev = _validate_table(DEVICE_FIELDS, section, file, f"devices.{role}.", base_dir)
        dev["options"] = dict(dev["options"] or {})
        url = dev["url"]
        # A relative device path (a simulator's pty link, an image folder) is relative to the
        # config file like every other path; URLs with a scheme and camera indexes stay as they are.
        if url and base_dir is not None and "://" not in url and not url.isdigit() \
                and not Path(url).is_absolute():
            dev["url"] = os.path.normpath(base_dir / url)  # not resolve(): keep symlinks
        data["devices"][role] = dev
    try:
        broker_address(data["network"]["broker"])
    except BrokerUrlError as e:
        raise ConfigError(file, "network.broker", e.expected, data["network"]["broker"]) from None
    for role, dev in data["devices"].items():
        if urlparse(dev["url"]).scheme in _PORT_SCHEMES:
            _check_port(file, f"devices.{role}.url", dev["url"])
    region = data["terminal"]["region"]
    _check_region_chain(file, region)
    _check_timezone(file, data["runtime"]["timezone"])
    pin_hash = data["ui"]["maintenance_pin_hash"]
    if pin_hash:
        from kiosk.pin import MAX_ITERATIONS, is_pin_hash
        if not is_pin_hash(pin_hash):  # else staff could never open the maintenance screen
            raise ConfigError(file, "ui.maintenance_pin_hash", "empty or the output of `kiosk pin-hash` "
                              f"(pbkdf2_sha256$<1000..{MAX_ITERATIONS} iterations>$<salt hex>$<64 hex>)", pin_hash)
    if not data["runtime"]["state_dir"]:  # Path("") is the directory `kiosk run` was started from
        raise ConfigError(file, "runtime.state_dir", "a directory (an empty path would be the directory "
                          "the kiosk is started from)", data["runtime"]["state_dir"])
    if Path(data["runtime"]["state_dir"]).resolve() == Path("/"):  # the outbox in / (as root: it was)
        raise ConfigError(file, "runtime.state_dir", "a directory of the kiosk's own, not the root directory",
                          data["runtime"]["state_dir"])
    net = data["network"]
    if net["reconnect_min_s"] > net["reconnect_max_s"]:  # a first delay above the cap means nothing
        raise ConfigError(file, "network.reconnect_min_s", f"a value <= network.reconnect_max_s "
                          f"({net['reconnect_max_s']:g})", net["reconnect_min_s"])
    if data["runtime"]["elder_timeout_s"] < data["runtime"]["session_timeout_s"]:
        raise ConfigError(file, "runtime.elder_timeout_s", "a value >= runtime.session_timeout_s",
                          data["runtime"]["elder_timeout_s"])
    return data


#: The broker URL's schemes and their default ports (TLS for mqtts).
BROKER_SCHEMES = {"mqtt": 1883, "mqtts": 8883}
_BROKER_FORM = "mqtt://host[:port] or mqtts://host[:port] (an IPv6 address in brackets: mqtts://[::1]:8883)"
_PORT_RANGE = "a port of 1-65535 (or none, for the default)"
#: scheme :// host (a name or IPv4 address, or anything in brackets: checked as IPv6 below) [:port] [/]
_BROKER_RE = re.compile(r"([a-z]+)://(?:\[([^\[\]/]*)\]|([^\[\]:/@?#\s]+))(?::([0-9]*))?/?")


class BrokerUrlError(ValueError):
    """A broker URL that is not ``mqtt[s]://host[:port]``; ``expected`` says what would be."""

    def __init__(self, url: str, expected: str) -> None:
        super().__init__(f"broker URL must be {_BROKER_FORM}, with {_PORT_RANGE}; got {url!r}")
        self.expected = expected


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of a broker URL: the one parser of ``network.broker``, of the gateway and
    ``kiosk doctor`` (:class:`kiosk.network.broker.Broker`) and of the central service's command
    line. The host is a name, an IPv4 address or an IPv6 address in brackets (a zone as ``%eth0``
    or ``%25eth0``); the port 1-65535, 1883 for ``mqtt://`` and 8883 for ``mqtts://`` by default.
    Raises :class:`BrokerUrlError` (a ValueError) with one line saying what is expected."""
    m = _BROKER_RE.fullmatch(url)
    if m is None or m.group(1) not in BROKER_SCHEMES:
        raise BrokerUrlError(url, _BROKER_FORM)
    scheme, v6, host, port = m.groups()
    if v6 is not None:
        try:
            ipaddress.IPv6Address(v6.replace("%25", "%", 1))
        except ValueError:
            raise BrokerUrlError(url, _BROKER_FORM) from None
        host = v6.replace("%25", "%", 1)
    if port is not None and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise BrokerUrlError(url, _PORT_RANGE)
    return host, int(port) if port else BROKER_SCHEMES[scheme], scheme == "mqtts"


#: URL schemes whose port is a TCP port (the broker's and network devices'); others (usb://VID:PID) are not.
_PORT_SCHEMES = ("mqtt", "mqtts", "tcp", "socket", "rfc2217", "http", "https")


#: Schemes with no default port: the URL must name one.
_PORT_REQUIRED = ("tcp", "socket", "rfc2217")


def _check_port(file: str, key: str, url: str) -> None:
    """A port in a URL must be 1-65535: ``:0`` is not "the default" and 70000 does not exist."""
    u = urlparse(url)
    try:
        port = u.port
    except ValueError:  # beyond 65535, or not a number
        port = 0
    if port == 0 or (port is None and u.scheme in _PORT_REQUIRED):
        raise ConfigError(file, key, "a port of 1-65535" + ("" if u.scheme in _PORT_REQUIRED else
                                                            " (or none, for the default)"), url)


def _check_path(file: str, key: str, value: str) -> None:
    """A path as a technician means it: nothing expands ``~`` (it became a directory named ``~``
    beside the config), and spaces around a path or a path of spaces alone are a typing slip
    (they made a directory named " " that doctor showed as an invisible trailing space)."""
    if value != value.strip() or not value.strip():
        raise ConfigError(file, key, "a path without spaces or tabs around it", value)
    if value.startswith("~"):
        raise ConfigError(file, key, "a full path (nothing here expands ~ to a home directory)", value)


def _check_timezone(file: str, name: str) -> None:
    """The hall's time zone must be one the system knows: otherwise `kiosk run` died with a
    traceback at start while `kiosk doctor` passed (a cold try: "Mars/Olympus", "")."""
    from zoneinfo import ZoneInfo
    try:
        ZoneInfo(name)
    except (LookupError, ValueError, OSError):  # unknown, empty or not a relative key, unreadable
        raise ConfigError(file, "runtime.timezone", "an IANA time zone name, e.g. Asia/Shanghai", name) from None


def _check_region_chain(file: str, region: dict[str, str]) -> None:
    """Each level's code must extend the level above it (410122 is inside 4101xx)."""
    city, county, township, village = (region.get(k, "") for k in ("city", "county", "township", "village"))
    if county and county[:4] != city[:4]:
        raise ConfigError(file, "terminal.region.county", f"a county code inside city {city}", county)
    if township and (not county or township[:6] != county):
        raise ConfigError(file, "terminal.region.township", f"a code starting with county {county or '?'}", township)
    if village and (not township or village[:9] != township):
        raise ConfigError(file, "terminal.region.village", f"a code starting with township {township or '?'}", village)


def validate_options(schema: Mapping[str, Field], options: Mapping[str, Any], file: str,
                     prefix: str) -> dict[str, Any]:
    """Validate a driver's ``options`` table against its declared ``OPTIONS``."""
    return _validate_table(dict(schema), options, file, prefix, None)


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read and validate a TOML config file; raise :class:`ConfigError` on any problem."""
    p = Path(path)
    file = str(p)
    if p.exists() and not p.is_file():  # a FIFO with no writer would hang both run and doctor
        raise ConfigError(file, "<file>", "a regular file", "a directory" if p.is_dir() else "not a regular file")
    try:
        # utf-8-sig: a file saved by Windows Notepad starts with a BOM, which TOML refused as
        # "Invalid statement (at line 1, column 1)" with nothing to see in an editor.
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(file, "<file>", "an existing file", "not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(file, "<file>", "a readable UTF-8 file", str(e)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(file, "<syntax>", "valid TOML", str(e)) from None
    cfg = Config(_validate(raw, file, Path(os.path.abspath(p.parent))), file)
    return cfg.with_overrides(overrides) if overrides else cfg


def from_dict(raw: Mapping[str, Any], source: str = "<memory>", base_dir: str | Path | None = None) -> Config:
    """Validate a config given as a dict (tests, the fleet simulator)."""
    return Config(_validate(raw, source, Path(base_dir) if base_dir else None), source)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table inside a list (mobile.staff entries)
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """Write a validated config back as TOML (the demo's effective config). Tables after values."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    out = ("\n".join(lines) + "\n") if lines else ""
    for key, value in tables:
        name = f"{prefix}{key}"
        body = dump_toml(value, name + ".")
        out += f"\n[{name}]\n{body}"
    return out

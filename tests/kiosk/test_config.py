"""Config loading: every shipped file is valid; every kind of mistake names file, key, expectation."""
from pathlib import Path

import pytest

from kiosk import config, roles
from kiosk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = '[terminal]\nid = "T-0001"\n[terminal.region]\ncity = "410100"\n'


def write(tmp_path, text):
    p = tmp_path / "k.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("name", ["example.toml", "demo.toml"])
def test_shipped_configs_load(name):
    cfg = config.load(ROOT / "config" / name)
    assert cfg.terminal_id
    assert cfg.regions[0] == "410100"


def test_example_documents_every_key():
    text = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    for section, fields in config.SCHEMA.items():
        for key, spec in fields.items():
            if isinstance(spec, dict):
                for sub in spec:
                    assert f"\n{sub} = " in text, f"{section}.{key}.{sub} undocumented"
            else:
                assert f"\n{key} = " in text, f"{section}.{key} undocumented"


def test_example_has_a_table_for_every_role():
    text = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    assert not [r for r in roles.names() if f"\n[devices.{r}]\n" not in text]


def test_every_role_and_no_other_may_have_a_table(tmp_path):
    tables = "".join(f'[devices.{r}]\ndriver = "{r}.virtual"\n' for r in roles.names())
    assert list(config.load(write(tmp_path, MINIMAL + tables)).devices()) == list(roles.names())
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, MINIMAL + '[devices.fax]\ndriver = "fax.virtual"\n'))
    assert info.value.key == "devices.fax" and info.value.expected == "one of " + ", ".join(roles.names())


def test_defaults_filled(tmp_path):
    cfg = config.load(write(tmp_path, MINIMAL))
    assert cfg.get("runtime.session_timeout_s") == 60.0
    assert cfg.get("network.broker") == "mqtt://127.0.0.1:1883"
    assert cfg.get("runtime.state_dir") == str(tmp_path / "var")
    assert cfg.regions == ["410100"]


@pytest.mark.parametrize("extra, key, expected", [
    ('[runtime]\nsession_timeout_s = "60"\n', "runtime.session_timeout_s", "a number"),
    ('[runtime]\nsession_timeout_s = 5\n', "runtime.session_timeout_s", ">= 10"),
    ('[runtime]\nlanguage = "fr"\n', "runtime.language", "one of"),
    ('[runtime]\ntimeout = 3\n', "runtime.timeout", "a known key"),
    ('[bogus]\nx = 1\n', "bogus", "a known key"),
    ('[ui]\nfullscreen = 1\n', "ui.fullscreen", "true or false"),
    ('[network]\nbroker = "http://x"\n', "network.broker", "mqtt://host[:port] or mqtts://host[:port]"),
    ('[devices.fax]\ndriver = "x"\n', "devices.fax", "one of"),
    ('[devices.printer]\nurl = "tcp://x:9100"\n', "devices.printer.driver", "missing"),
    ('[devices.printer]\ndriver = "printer.escpos"\ncolour = 1\n', "devices.printer.colour", "a known key"),
])
def test_errors_name_file_key_and_expectation(tmp_path, extra, key, expected):
    p = write(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as err:
        config.load(p)
    msg = str(err.value)
    assert str(p) in msg and key in msg and expected in msg, msg


def test_region_chain_is_checked(tmp_path):
    text = '[terminal]\nid = "T-0001"\n[terminal.region]\ncity = "410100"\ncounty = "420122"\n'
    with pytest.raises(ConfigError, match="terminal.region.county"):
        config.load(write(tmp_path, text))
    text = '[terminal]\nid = "T-0001"\n[terminal.region]\ncity = "410100"\ncounty = "410122"\ntownship = "410181203"\n'
    with pytest.raises(ConfigError, match="terminal.region.township"):
        config.load(write(tmp_path, text))


def test_missing_file_and_bad_syntax(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="valid TOML"):
        config.load(write(tmp_path, "[terminal\nid="))


def test_relative_device_paths_keep_symlinks(tmp_path):
    text = MINIMAL + '[devices.idcard]\ndriver = "idcard.sam-serial"\nurl = "run/idcard.pty"\n' \
                     '[devices.camera]\ndriver = "camera.opencv"\nurl = "0"\n'
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "idcard.pty").symlink_to("/dev/null")
    cfg = config.load(write(tmp_path, text))
    assert cfg.get("devices.idcard.url") == str(tmp_path / "run" / "idcard.pty")
    assert cfg.get("devices.camera.url") == "0"


def test_overrides_are_validated(tmp_path):
    cfg = config.load(write(tmp_path, MINIMAL))
    assert cfg.with_overrides({"network.broker": "mqtt://127.0.0.1:1999"}).get("network.broker").endswith("1999")
    with pytest.raises(ConfigError):
        cfg.with_overrides({"network.keepalive_s": 1})


@pytest.mark.parametrize("url", ["mqtt://127.0.0.1:0", "mqtt://127.0.0.1:70000", "mqtts://broker.example:99999"])
def test_broker_port_must_be_1_to_65535(tmp_path, url):
    p = write(tmp_path, MINIMAL + f'[network]\nbroker = "{url}"\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    msg = str(err.value)
    assert str(p) in msg and "network.broker" in msg and "1-65535" in msg and url in msg


@pytest.mark.parametrize("url, ok", [("tcp://10.0.0.5:9100", True), ("tcp://10.0.0.5:0", False),
                                     ("tcp://10.0.0.5:65536", False), ("tcp://10.0.0.5", False),
                                     ("socket://h:x", False), ("/dev/ttyUSB0", True)])
def test_device_url_ports_are_checked(tmp_path, url, ok):
    p = write(tmp_path, MINIMAL + f'[devices.printer]\ndriver = "printer.escpos"\nurl = "{url}"\n')
    if ok:
        assert config.load(p).get("devices.printer.url").endswith(url.rsplit("/", 1)[-1])
    else:
        with pytest.raises(ConfigError, match="devices.printer.url.*1-65535"):
            config.load(p)


def test_default_ports_stay_allowed(tmp_path):
    assert config.load(write(tmp_path, MINIMAL + '[network]\nbroker = "mqtts://broker.example"\n'))


@pytest.mark.parametrize("url", ["mqtt://127.0.0.1:１８８３", "mqtt://[::1]:١٨٨٣"])
def test_broker_port_in_non_ascii_digits_is_refused(tmp_path, url):
    # A cold try: full-width digits (an IME) passed and connected to 127.0.0.1:1883.
    p = write(tmp_path, MINIMAL + f'[network]\nbroker = "{url}"\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert "network.broker" in str(err.value)


def test_region_code_in_full_width_digits_is_refused(tmp_path):
    # A cold try: "４１０１００" passed the schema and `kiosk run` died in kiosk.network.topics.
    p = write(tmp_path, '[terminal]\nid = "T-0001"\n[terminal.region]\ncity = "４１０１００"\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert "terminal.region.city" in str(err.value)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../etc", "/etc/passwd", "Asia"])
def test_unknown_timezone_is_refused(tmp_path, tz):
    # A cold try: `kiosk doctor` passed these and `kiosk run` died with a ZoneInfo traceback.
    p = write(tmp_path, MINIMAL + f'[runtime]\ntimezone = "{tz}"\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert "runtime.timezone" in str(err.value) and str(p) in str(err.value)


def test_known_timezones_load(tmp_path):
    for tz in ("Asia/Shanghai", "UTC", "Asia/Urumqi"):
        assert config.load(write(tmp_path, MINIMAL + f'[runtime]\ntimezone = "{tz}"\n')).get("runtime.timezone") == tz


@pytest.mark.parametrize("value", [""])
def test_empty_state_dir_is_refused(tmp_path, value):
    # A cold try: "" meant the current directory (the outbox landed wherever `kiosk run` started).
    p = write(tmp_path, MINIMAL + f'[runtime]\nstate_dir = "{value}"\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert "runtime.state_dir" in str(err.value)


@pytest.mark.parametrize("key, value", [("network.request_timeout_s", "nan"), ("runtime.session_timeout_s", "nan"),
                                        ("runtime.session_timeout_s", "-nan")])
def test_nan_is_refused(tmp_path, key, value):
    # A cold try: nan passed every bound (each comparison with nan is False) and `kiosk run` started.
    section, name = key.split(".")
    p = write(tmp_path, MINIMAL + f"[{section}]\n{name} = {value}\n")
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert key in str(err.value)


def test_a_file_saved_with_a_byte_order_mark_loads(tmp_path):
    # A cold try: Notepad's BOM made the file "Invalid statement (at line 1, column 1)".
    p = tmp_path / "k.toml"
    p.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert config.load(p).terminal_id == "T-0001"


@pytest.mark.parametrize("value", ["garbage", "pbkdf2_sha256$abc$00$00", "pbkdf2_sha256$999999999999$00$00",
                                   "pbkdf2_sha256$200000$2ac4$50ad"])
def test_a_malformed_maintenance_pin_hash_is_refused(tmp_path, value):
    # A cold try: accepted by doctor and run; no PIN could ever open the maintenance screen.
    p = write(tmp_path, MINIMAL + f'[ui]\nmaintenance_pin_hash = "{value}"\n')
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert "ui.maintenance_pin_hash" in str(err.value) and "kiosk pin-hash" in str(err.value)


def test_a_pin_hash_made_by_kiosk_pin_hash_loads(tmp_path):
    from kiosk.pin import hash_pin
    h = hash_pin("2468")
    assert config.load(write(tmp_path, MINIMAL + f'[ui]\nmaintenance_pin_hash = "{h}"\n')).get("ui.maintenance_pin_hash") == h


def test_a_first_reconnect_delay_above_its_cap_is_refused(tmp_path):
    # A cold try: reconnect_min_s = 50 with reconnect_max_s = 0.2 loaded, and meant nothing.
    with pytest.raises(ConfigError) as e:
        config.load(write(tmp_path, MINIMAL + "[network]\nreconnect_min_s = 50\nreconnect_max_s = 0.2\n"))
    assert e.value.key == "network.reconnect_min_s" and "reconnect_max_s" in str(e.value)
    assert config.load(write(tmp_path, MINIMAL + "[network]\nreconnect_min_s = 2\nreconnect_max_s = 2\n"))


def test_a_config_path_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    # A cold try: a named pipe with no writer made `kiosk run` and `kiosk doctor` hang on the read.
    import os
    fifo = tmp_path / "k.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="a regular file"):
        config.load(fifo)
    with pytest.raises(ConfigError, match="a directory"):
        config.load(tmp_path)


@pytest.mark.parametrize("value,expected", [("~", "expands ~"), ("~/kiosk", "expands ~"), (" ", "spaces"),
                                            ("\t", "spaces"), ("var ", "spaces"), (" var", "spaces"),
                                            ("/", "root directory"), ("/..", "root directory")])
def test_a_state_dir_a_technician_did_not_mean_is_refused(tmp_path, value, expected):
    # A cold try: "~" made a directory named ~ beside the config, " " one named " ", and "/" (as root)
    # put the outbox in the root directory.
    with pytest.raises(ConfigError, match=expected) as e:
        config.load(write(tmp_path, MINIMAL + f'[runtime]\nstate_dir = "{value}"\n'))
    assert e.value.key == "runtime.state_dir"

"""The contract every registered driver passes (entry points ``kiosk.drivers``, kiosk/devices/registry.py),
whatever its role: registered under its own name for a role of kiosk/roles.py and built on the driver
skeleton; its role's interface; start and stop idempotent, restartable, no thread left behind; a
device that is not there is an ERROR with a typed error (code, reason, action) in its health and in
its ``<role>.state`` events, never an exception from ``start``; the technician's probe of it gives a
typed error, never a traceback. A new driver is held to this by registering it: nothing to add here.

Real drivers meet an absent device here (a path that does not exist; their own tests use the
simulators); virtual drivers are also plugged, unplugged and plugged back."""
from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from firmware_bridge.pcsc.stack import use_private_socket
from kiosk import roles
from kiosk.config import Field
from kiosk.devices import registry
from kiosk.devices.base import DeviceState, Health
from kiosk.devices.skeleton import ThreadedDevice
from kiosk.doctor import probe_device
from kiosk.errors import ConfigError
from kiosk.events import EventBus
from tests import recording

#: Where no device is: a path that cannot exist (a serial port, an input node, a video file, a
#: printer's serial link; for a PC/SC reader, a name no reader has).
ABSENT = "/nonexistent/kiosk-contract-device"
NAMES = list(registry.drivers())


@pytest.fixture(scope="module", autouse=True)
def private_pcsc_socket():
    """PC/SC drivers talk to this process's own pcscd socket (none runs there: "service lost"), never
    the machine's; and libpcsclite reads the socket's name once per process (PITFALLS.md), so this
    comes before any PC/SC use, for the smart-card tests after these too."""
    use_private_socket()


def absent_section(name: str) -> dict:
    """A config section for ``name`` with nothing behind it."""
    cls = registry.driver_class(name)
    options: dict[str, Any] = {}
    if "present" in cls.OPTIONS:  # a virtual driver: unplugged
        options["present"] = False
    if "device" in cls.OPTIONS:  # the keyboard wedge reads an input node (empty: fed by the UI)
        options["device"] = ABSENT
    return {"driver": name, "url": ABSENT, "options": options}


@pytest.fixture
def threads():
    """The threads alive before the test; after it, none of the driver's may be left."""
    before = set(threading.enumerate())
    yield before
    leaked = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left behind: {leaked}"


def own_threads(name: str, before: set) -> list[threading.Thread]:
    """The driver's link threads (the skeleton names them ``<driver>:<url>``) started since ``before``."""
    return [t for t in threading.enumerate() if t not in before and t.is_alive() and t.name.startswith(name + ":")]


def check_typed_error(health: Health) -> None:
    assert health.state == DeviceState.ERROR
    error = health.error
    assert error and error["code"] and error["reason"] and error["action"], error


def test_every_role_has_its_usual_and_its_virtual_driver_registered():
    for role in roles.ROLES:
        assert role.driver in NAMES and role.virtual in NAMES, role.name


@pytest.mark.parametrize("name", NAMES)
def test_registered_under_its_own_name_for_a_known_role_on_the_skeleton(name):
    cls = registry.driver_class(name)
    assert cls.driver_name == name
    assert cls.role in roles.names() and name.startswith(cls.role + ".")
    assert issubclass(cls, ThreadedDevice)
    assert all(isinstance(f, Field) and f.doc for f in cls.OPTIONS.values()), "every option typed and documented"


@pytest.mark.parametrize("name", NAMES)
def test_options_are_validated_and_other_roles_refused(name):
    cls = registry.driver_class(name)
    with pytest.raises(ConfigError) as info:
        registry.build(cls.role, {"driver": name, "options": {"no_such_option": 1}}, EventBus())
    assert info.value.key == f"devices.{cls.role}.options.no_such_option"
    other = next(r for r in roles.names() if r != cls.role)
    with pytest.raises(ConfigError) as info:
        registry.build(other, {"driver": name, "options": {}}, EventBus())
    assert info.value.key == f"devices.{other}.driver"


@pytest.mark.parametrize("name", NAMES)
def test_absent_device_lifecycle(name, threads):
    role = roles.by_name(registry.driver_class(name).role)
    bus = EventBus()
    rec = recording.Recorder(bus, role.state_event)
    dev = registry.build(role.name, absent_section(name), bus)
    assert isinstance(dev, role.interface)
    assert dev.state == DeviceState.CLOSED and dev.health().error is None

    for _ in range(2):  # and a restart after stop
        seen = len(rec.events)
        dev.start()
        dev.start()  # idempotent: still one link thread
        rec.wait(lambda seen=seen: any(isinstance(e.data, Health) and e.data.state == DeviceState.ERROR
                                       for e in rec.events[seen:]))
        assert len(own_threads(name, threads)) == 1
        # The ERROR report itself: by now the link thread may be back in CONNECTING for its next
        # attempt (under load a retry came before the test looked at the last event).
        reported = [e.data for e in rec.events[seen:] if e.data.state == DeviceState.ERROR][-1]
        assert (reported.role, reported.driver) == (role.name, name)
        check_typed_error(reported)
        health = dev.health()
        assert (health.role, health.driver) == (role.name, name)
        json.dumps(health.to_dict())  # health goes to telemetry and `kiosk doctor` as JSON

        dev.stop()
        dev.stop()  # idempotent
        assert dev.state == DeviceState.CLOSED and not own_threads(name, threads)
        assert rec.events[-1].data.state == DeviceState.CLOSED


@pytest.mark.parametrize("name", NAMES)
def test_stop_without_start(name, threads):
    role = registry.driver_class(name).role
    dev = registry.build(role, absent_section(name), EventBus())
    dev.stop()
    assert dev.state == DeviceState.CLOSED


@pytest.mark.parametrize("name", NAMES)
def test_technician_probe_is_a_result_or_a_typed_error(name, threads, capsys):
    """`kiosk doctor --device ROLE --url ABSENT --read --driver NAME`: a real device is not there (a
    typed error, exit 2); a virtual one is (its probe's url names nothing) but has nothing to read
    (a typed timeout), or it answers (the printer's status)."""
    role = roles.by_name(registry.driver_class(name).role)
    rc = probe_device(role.name, ABSENT, read=True, test_print=False, timeout_s=0.2, driver=name)
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    if rc == 0:
        assert out["ok"] is True and name == role.virtual
    else:
        assert rc == 2 and out["ok"] is False and out["error"]["code"] and out["error"]["action"], out


@pytest.mark.parametrize("role", roles.ROLES, ids=roles.names())
def test_virtual_driver_ready_at_once_then_unplugged_and_back(role, threads):
    bus = EventBus()
    rec = recording.Recorder(bus, role.state_event)
    dev = registry.virtual(role.name, bus)
    dev.start()
    assert dev.state == DeviceState.READY and dev.health().error is None  # in memory: no wait
    dev.unplug()
    rec.wait(lambda: dev.state == DeviceState.ERROR)
    check_typed_error(dev.health())
    assert dev.health().error["code"] == "device.unavailable"
    dev.plug()
    rec.wait(lambda: dev.state == DeviceState.READY)  # the skeleton's reconnect loop brought it back
    assert [e.data.state for e in rec.events] == [DeviceState.CONNECTING, DeviceState.READY,
                                                  DeviceState.ERROR, DeviceState.READY]
    dev.stop()
    assert dev.state == DeviceState.CLOSED

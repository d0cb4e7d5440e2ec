"""deploy/udev/70-hall-kiosk.rules through udev itself (`udevadm test`), not by parsing.

A test machine has none of the kiosk's USB devices, so each case builds the sysfs entries a real
one would have (a USB device with idVendor/idProduct, its interface, the tty or video4linux
device below it) and runs `udevadm test --action=add` on it, in a private mount namespace where:

- /sys is that fake tree (``SYSTEMD_DEVICE_VERIFY_SYSFS=0`` lets udev read a tree that is not
  the kernel's sysfs, as systemd's own udev tests do);
- /etc/udev/rules.d holds only our file and /usr/lib/udev/rules.d is empty, so nothing else
  decides the result;
- /dev and /run are empty tmpfs: `udevadm test` really creates the symlinks (/dev/kiosk/...)
  and its database (/run/udev), and they must not land on the host.

The result is udev's own view of the event: the properties (ID_MM_DEVICE_IGNORE) and DEVLINKS,
and its trace of which rule line set GROUP and MODE.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT

pytestmark = pytest.mark.integration

RULES = ROOT / "deploy" / "udev" / "70-hall-kiosk.rules"

_NAMESPACE = r"""
set -eu
fake=$1; rules=$2; dev=$3; work=$4
mount --bind "$fake" /sys
mount -t tmpfs tmpfs /etc/udev/rules.d
cp "$rules" /etc/udev/rules.d/
mount -t tmpfs tmpfs /usr/lib/udev/rules.d
mount -t tmpfs tmpfs /run
mkdir "$work/dev"
mount -t tmpfs tmpfs "$work/dev"
touch "$work/dev/null"
mount --bind /dev/null "$work/dev/null"
mount --move "$work/dev" /dev
SYSTEMD_DEVICE_VERIFY_SYSFS=0 SYSTEMD_LOG_LEVEL=debug exec udevadm test --action=add "/sys/class/$dev" 2>&1
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent))


def fake_sysfs(root: Path, vid: str, pid: str, kind: str) -> str:
    """A USB device vid:pid with one interface and below it a tty (ttyUSB0) or a camera
    (video0); returns the class path (``tty/ttyUSB0`` or ``video4linux/video0``)."""
    pci = root / "devices/pci0000:00/0000:00:14.0"
    usb = pci / "usb1/1-1"
    iface = usb / "1-1:1.0"
    _write(pci / "uevent", "DRIVER=xhci_hcd\n")
    _link(pci / "subsystem", root / "bus/pci")
    _write(pci / "usb1/uevent", "DEVTYPE=usb_device\n")
    _link(pci / "usb1/subsystem", root / "bus/usb")
    _write(usb / "uevent", f"DEVTYPE=usb_device\nPRODUCT={vid}/{pid}/100\n")
    _write(usb / "idVendor", vid + "\n")
    _write(usb / "idProduct", pid + "\n")
    _link(usb / "subsystem", root / "bus/usb")
    _write(iface / "uevent", "DEVTYPE=usb_interface\n")
    _link(iface / "subsystem", root / "bus/usb")
    if kind == "tty":
        port = iface / "ttyUSB0"
        _write(port / "uevent", "")
        _link(port / "subsystem", root / "bus/usb-serial")
        node, cls, major = port / "tty/ttyUSB0", "tty", 188
    else:
        node, cls, major = iface / "video4linux/video0", "video4linux", 81
        _write(node / "index", "0\n")
    name = node.name
    _write(node / "uevent", f"MAJOR={major}\nMINOR=0\nDEVNAME={name}\n")
    _write(node / "dev", f"{major}:0\n")
    _link(node / "subsystem", root / "class" / cls)
    _link(root / "class" / cls / name, node)
    return f"{cls}/{name}"


def udev_event(tmp_path: Path, vid: str, pid: str, kind: str = "tty") -> tuple[dict[str, str], str]:
    """(the event's properties, udev's whole output) for a fake device vid:pid."""
    fake = tmp_path / f"sys-{vid}-{pid}"
    dev = fake_sysfs(fake, vid, pid, kind)
    work = tmp_path / f"ns-{vid}-{pid}"
    work.mkdir()
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", _NAMESPACE, "udev",
                        str(fake), str(RULES), dev, str(work)], capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # The properties block follows the last line of udevadm's warning text.
    tail = out.rsplit("not available at a simulation run.", 1)[-1]
    props = dict(ln.split("=", 1) for ln in tail.splitlines() if "=" in ln)
    return props, out


@pytest.fixture(autouse=True)
def _udevadm():
    if os.geteuid() != 0:
        pytest.skip("needs root for the mount namespace")
    if not shutil.which("udevadm"):
        pytest.fail("udevadm not found: run `make setup` (Debian package udev)")


@pytest.mark.parametrize("vid,pid,link", [
    ("1a86", "7523", "kiosk/idcard"),    # CH340 bridge of the ID-card reader
    ("10c4", "ea60", "kiosk/idcard"),    # CP210x bridge of the ID-card reader
    ("0483", "5740", "kiosk/scanner"),   # QR scanner in CDC ACM mode
    ("0403", "6001", "kiosk/printer"),   # FTDI bridge of the receipt printer
])
def test_serial_devices_get_their_name_and_modemmanager_keeps_off(tmp_path, vid, pid, link):
    props, out = udev_event(tmp_path, vid, pid)
    assert props.get("ID_MM_DEVICE_IGNORE") == "1", out[-3000:]
    assert props.get("DEVLINKS") == f"/dev/{link}", out[-3000:]
    assert "70-hall-kiosk.rules" in out and " GROUP 20" in out and " MODE 0660" in out, out[-3000:]


def test_the_camera_gets_its_name(tmp_path):
    props, out = udev_event(tmp_path, "0c45", "6366", kind="video")
    assert props.get("DEVLINKS") == "/dev/kiosk/camera", out[-3000:]
    assert " GROUP 44" in out and " MODE 0660" in out, out[-3000:]   # group video


def test_other_devices_are_left_alone(tmp_path):
    """A USB-serial device that is not one of ours: no name, and ModemManager may probe it."""
    props, out = udev_event(tmp_path, "2341", "0043")   # an Arduino Uno
    assert "ID_MM_DEVICE_IGNORE" not in props and "DEVLINKS" not in props, out[-3000:]
    assert props.get("SUBSYSTEM") == "tty" and props.get("DEVNAME") == "/dev/ttyUSB0", props

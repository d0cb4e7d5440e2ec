"""The network camera simulator against the real camera driver: HTTP MJPEG -> OpenCV/FFmpeg ->
zxing-cpp -> one camera.scan event per code shown."""
from __future__ import annotations

import threading

import pytest

from firmware_bridge.camera.mjpeg import MjpegCameraSimulator
from kiosk.devices import registry
from kiosk.devices.base import DeviceState
from kiosk.events import EventBus
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_camera_driver_reads_codes_from_the_network_stream():
    bus = EventBus()
    scans, lock = [], threading.Lock()

    def on_scan(e):
        with lock:
            scans.append(e.data)
    bus.subscribe("camera.scan", on_scan)
    with MjpegCameraSimulator() as sim:
        cam = registry.build("camera", {"driver": "camera.opencv", "url": sim.url, "options": {}}, bus)
        cam.start()
        try:
            wait_for(lambda: cam.state is DeviceState.READY, 20, "the camera to open the stream")
            sim.show("SQ202611244101840001")
            wait_for(lambda: scans, 20, "the code to be decoded")
            assert scans[0].kind == "application_number" and scans[0].value == "SQ202611244101840001"
            frames = sim.frames_served
            wait_for(lambda: sim.frames_served >= frames + 10, 10, "more frames")
            assert len(scans) == 1  # the same code held in front of the camera is reported once
            sim.show(None)
        finally:
            cam.stop()

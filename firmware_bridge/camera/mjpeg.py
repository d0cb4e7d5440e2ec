"""A network camera simulator: an MJPEG-over-HTTP stream, as IP cameras and many USB-to-network
camera servers serve it (``multipart/x-mixed-replace`` of JPEG frames).

The kiosk's camera driver opens it by URL (``http://127.0.0.1:PORT/stream.mjpg``) through
OpenCV's FFmpeg backend, exactly as it would open a real network camera, so the whole pipeline
(capture thread, frame dropping, zxing-cpp decoding, dedupe) runs on real bytes. What the camera
"sees" is set with :meth:`MjpegCameraSimulator.show`: a phone screen with a code (synthetic
frames from :mod:`firmware_bridge.camera.synthetic`) or an empty scene.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

from firmware_bridge.camera.synthetic import FrameSpec, render

BOUNDARY = "kioskframe"
#: Why 10 fps: enough for a citizen holding a phone still, and cheap for a 2-core demo machine.
FPS = 10.0
#: JPEG quality: high enough that the QR modules survive compression at 6 px per module.
JPEG_QUALITY = 90


class MjpegCameraSimulator:
    """An HTTP server streaming JPEG frames of what :meth:`show` set."""

    def __init__(self, port: int = 0, fps: float = FPS) -> None:
        self.fps = fps
        self._lock = threading.Lock()
        self._jpeg = self._encode(FrameSpec(None, phone=False))
        self.frames_served = 0
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: the kiosk's logs are JSON lines
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] not in ("/stream.mjpg", "/"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    while not sim._stop.is_set():
                        with sim._lock:
                            jpeg = sim._jpeg
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        sim.frames_served += 1
                        if sim._stop.wait(1.0 / sim.fps):
                            break
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the camera driver closed the stream (stop, reconnect)

        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port."""
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """What the camera driver opens."""
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    @staticmethod
    def _encode(spec: FrameSpec) -> bytes:
        ok, buf = cv2.imencode(".jpg", render(spec), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()

    def show(self, text: str | None, *, module_px: float = 6.0) -> None:
        """Hold a phone with a QR code of ``text`` in front of the camera (None: nobody there)."""
        jpeg = self._encode(FrameSpec(text, module_px=module_px, phone=text is not None,
                                      seed=int(time.time()) & 0xFFFF))
        with self._lock:
            self._jpeg = jpeg

    def start(self) -> MjpegCameraSimulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="camera-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop streaming and close the port."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> MjpegCameraSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

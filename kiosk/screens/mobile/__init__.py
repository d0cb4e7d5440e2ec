"""The mobile terminal's UI (staff tablet/phone, portrait 720x1280 or 1080x1920): a profile of the
same runtime. ``run_mobile_app(services, ...)`` is the entry point; layouts in ``staff.kv``,
strings in this package's own gettext domain (``locale/<lang>/LC_MESSAGES/mobile.po``)."""
from kiosk.screens.mobile.app import run_mobile_app  # noqa: F401

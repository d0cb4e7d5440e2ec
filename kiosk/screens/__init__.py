"""The citizen's touchscreen (Kivy): screens, theme, fonts and translations (the scripted tours, the
explorer and the layout check that drive it live in hall_demo, outside the terminal's wheel).

Only this package imports Kivy. Screens talk to :class:`kiosk.services.facade.Services` only;
bus events arrive on device/network threads and are handed to Kivy's main thread with Clock.
Import :mod:`kiosk.screens.app` only after :func:`kiosk.screens.kivyenv.prepare` (run_app does it).
"""

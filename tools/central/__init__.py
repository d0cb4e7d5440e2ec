"""The reference central service of contract v1 (storage, seed data, MQTT service, admin CLI).

``python -m tools.central --broker mqtt://HOST:PORT --db PATH`` runs one instance;
``python -m tools.central.admin ...`` administers terminals, broadcasts and applications.
"""

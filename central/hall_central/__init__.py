"""The reference central service of contract v1 (storage, seed data, MQTT service, admin CLI).

``python -m hall_central --broker mqtt://HOST:PORT --db PATH`` runs one instance;
``python -m hall_central.admin ...`` administers terminals, broadcasts and applications.
"""

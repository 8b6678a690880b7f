"""Sinks consume episode events (and quality events): MQTT alerts, durable outbox, SQLite log,
EDF+ raw recording. A sink has ``handle(event)``, optional ``handle_quality(event)``, ``close()``."""

"""MQTT: events, their spool and in-flight window, the publisher, the subscriber, connections."""

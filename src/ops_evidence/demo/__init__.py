"""`ops-evidence demo`: the whole product on loopback (`loopback.py`), against the local
stand-ins of `targets.py`."""

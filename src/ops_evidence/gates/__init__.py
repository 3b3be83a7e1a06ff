"""Readiness gates OPS-G01…G15 and migration waves, evaluated from evidence.

    catalog.yaml / catalog.py   the gates and waves of the seed, shipped as package data
    rules.py                    the evidence rules that can decide a gate (one per `rule.kind`)
    evaluate.py                 rule + manual evidence -> each gate's status and reasons; waves

Kept import-light on purpose: the inventory model imports `gates.catalog` for its `gates:`
section, and `gates.evaluate` imports the inventory.
"""

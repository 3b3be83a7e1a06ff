"""Configuration: the runtime settings and the value types they are written in.

settings.py        Settings, from the environment first (pydantic-settings)
settings_doc.py    the README's configuration table, generated from Settings
durations.py       human durations and byte sizes (settings and the inventory)
widget_mapping.py  OPS_HUB_WIDGET_MAPPING: which Inter-Hub widget gets which event
"""

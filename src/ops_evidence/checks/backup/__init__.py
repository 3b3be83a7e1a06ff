"""Backup readers: the newest backup's time, size and success, one module per tool.

base.py        what every reader reports (`BackupObservation`) and shared parsing
readers.py     the seam: `read_backup(check, options)` and `READERS`, one reader per kind
restic.py, borg.py, pgbackrest.py   the tools' JSON output (run through `checks.subprocess`)
files.py       the newest matching file in a folder
http.py        a JSON status document over HTTP
"""

"""Restore drills: restore a backup into a scratch folder, verify it, always remove the folder.

scratch.py     the drill folder: made with a marker, its size, its removal, the start-up sweep
base.py        what every restorer reports (`RestoreResult`) and the shared file checks
restic.py, borg.py, pgbackrest.py, files.py   one restorer per backup tool
postgres.py    a restored PostgreSQL data directory started on a private socket, queried, stopped
drill.py       the seam: `run_drill`, with the size watcher, the timeout and the removal
"""

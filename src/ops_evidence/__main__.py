"""`python -m ops_evidence` is the same as the `ops-evidence` console script."""

from ops_evidence.cli import main

raise SystemExit(main())

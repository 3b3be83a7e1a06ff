"""The README's configuration table matches the Settings model."""

from ops_evidence.config.settings_doc import BEGIN, END, configuration_table
from tests.conftest import REPO


def test_readme_table_is_current() -> None:
    """Regenerate with `uv run python -m ops_evidence.config.settings_doc` when this fails."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == configuration_table()

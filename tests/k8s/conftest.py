"""The rendered k8s/ targets, shared by the tests in this directory."""

from __future__ import annotations

import pytest

from tests.k8s.render import Obj, render_all


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Every target under k8s/ (with its component combinations), rendered once."""
    return render_all(tmp_path_factory)

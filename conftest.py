"""Top-level pytest plugins (pytest accepts `pytest_plugins` only here)."""
pytest_plugins = ["tests.iam_recorder"]

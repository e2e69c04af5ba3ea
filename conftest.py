"""Top-level pytest set-up (pytest accepts `pytest_plugins` only here)."""
pytest_plugins = ["tests.iam_recorder", "tests.stacks"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds or downloads; left out by `make test-fast`")

import pytest


def pytest_addoption(parser):
    parser.addoption("--rig", action="store_true", help="run tests that need the physical rig")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """One physical rig: with ``--rig`` the tests run one at a time, not on xdist workers."""
    if config.getoption("--rig") and hasattr(config.option, "numprocesses"):
        config.option.numprocesses = 0


def pytest_collection_modifyitems(config, items):
    if config.getoption("--rig"):
        return
    skip = pytest.mark.skip(reason="needs the physical rig (--rig)")
    for item in items:
        if "rig" in item.keywords:
            item.add_marker(skip)

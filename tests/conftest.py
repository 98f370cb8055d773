import pytest


def pytest_addoption(parser):
    parser.addoption("--rig", action="store_true", help="run tests that need the physical rig")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--rig"):
        return
    skip = pytest.mark.skip(reason="needs the physical rig (--rig)")
    for item in items:
        if "rig" in item.keywords:
            item.add_marker(skip)

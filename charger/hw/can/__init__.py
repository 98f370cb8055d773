"""Power stage on CAN: frame codec, python-can driver, and a twin behind python-can-remote."""

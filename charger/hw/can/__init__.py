"""Power stage on CAN: the frame codec and the python-can driver (twin: bench/twins/can.py)."""

"""OCPP 1.6 hardware-in-the-loop test bench."""

__version__ = "0.1.0"

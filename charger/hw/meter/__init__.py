"""Modbus energy meters: register maps as data, a pymodbus driver and a server twin."""

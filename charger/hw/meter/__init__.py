"""Modbus energy meters: register maps as data, the bus and the pymodbus driver."""

"""Hardware layer: one interface per part and its real driver; the bench's twins
(``bench/twins``) stand in for the parts.

A twin speaks the real part's protocol (RDM6300 frames on a pseudo-terminal,
Modbus registers over pymodbus, CAN frames over python-can, analog levels read by a
gpiozero MCP3008), so the real driver code runs in every test.
"""

"""RFID reader: RDM6300 frame codec, pyserial driver and a pty twin."""

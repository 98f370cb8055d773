"""RFID readers: RDM6300 and PN532 codecs and their pyserial drivers (twins: bench/twins)."""

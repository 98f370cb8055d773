"""Control pilot and proximity: circuit physics, the gpiozero driver, the Pi's pin factory."""

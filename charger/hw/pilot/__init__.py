"""Control pilot and proximity: circuit physics, gpiozero driver, and a wire-file twin."""

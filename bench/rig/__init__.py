"""The simulated rig: the physical world around the charger (EVs, meters, power stage)."""

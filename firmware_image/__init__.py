"""Build and sign installable images of the charger agent (``bench firmware build``).

The format and the agent's checks live in :mod:`charger.agent.fwimage`; see README.md.
"""

from firmware_image.build import BuiltImage, agent_files, build_image
from firmware_image.keys import SigningKey, ensure_signing_key

__all__ = ["BuiltImage", "SigningKey", "agent_files", "build_image", "ensure_signing_key"]

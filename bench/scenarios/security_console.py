"""The operator's security actions for the ``_CSMS`` security cases (whitepaper).

Mixed into :class:`bench.scenarios.csms_role.Operator`: each method hands the action to
the device under test through ``_do`` (ours: the Python API of ``bench.csms``; an
external one: its operator hook, with parameters named like the wire fields so
``python -m bench.csms.hook`` maps them onto the HTTP API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.scenarios.csms_role import OperatorRequest


class SecurityConsole:
    if TYPE_CHECKING:

        async def _do(self, action: str, **params: Any) -> OperatorRequest: ...

    async def extended_trigger_message(
        self, requested_message: str, connector_id: int | None = None
    ) -> OperatorRequest:
        return await self._do(
            "extended_trigger_message",
            requested_message=requested_message,
            connector_id=connector_id,
        )

    async def install_certificate(
        self, certificate_type: str, certificate: str | None = None
    ) -> OperatorRequest:
        """Without a certificate the DUT installs its own root of that type."""
        return await self._do(
            "install_certificate", certificate_type=certificate_type, certificate=certificate
        )

    async def get_installed_certificate_ids(self, certificate_type: str) -> OperatorRequest:
        return await self._do("get_installed_certificate_ids", certificate_type=certificate_type)

    async def delete_certificate(self, certificate_hash_data: dict[str, str]) -> OperatorRequest:
        return await self._do("delete_certificate", certificate_hash_data=certificate_hash_data)

    async def get_log(self, log_type: str = "SecurityLog") -> OperatorRequest:
        """The DUT chooses requestId and where the upload goes (ours: its FTP server)."""
        return await self._do("get_log", log_type=log_type)

    async def signed_update_firmware(self, firmware_file: str) -> OperatorRequest:
        """``firmware_file``: an image the DUT offers; it signs and locates it itself."""
        return await self._do("signed_update_firmware", firmware_file=firmware_file)

    async def set_security_profile(self, profile: int) -> OperatorRequest:
        """Registry: the profile the DUT expects this charge point to connect with."""
        return await self._do("set_security_profile", profile=profile)

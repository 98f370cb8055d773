"""The bench's embedded FTP server (firmware store, diagnostics uploads)."""

from bench.ftp.server import FtpServer

__all__ = ["FtpServer"]

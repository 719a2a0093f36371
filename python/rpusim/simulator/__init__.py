"""The reference's ``aihwkit.simulator`` paths: thin re-exports of rpusim's modules."""

from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)

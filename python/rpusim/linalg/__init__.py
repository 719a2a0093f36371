"""Analog linear algebra: a matrix stored on an analog tile (the reference's
``aihwkit.linalg``)."""

from rpusim.linalg.matrix import AnalogMatrix

__all__ = ["AnalogMatrix"]

"""``aihwkit.simulator.rpu_base``: the reference's compiled extension. Scripts use
``cuda.is_compiled()`` to choose a torch device; rpusim tiles run on their own backends
(``rpusim.backends()``, ``"cpu"`` or ``"gpu"``) with tensors on the CPU, so CUDA is reported as
not compiled and such scripts stay on the CPU."""

from __future__ import annotations

from rpusim._missing import missing_getattr


class _Cuda:
    """The reference's ``rpu_base.cuda`` namespace."""

    @staticmethod
    def is_compiled() -> bool:
        """False: rpusim has no CUDA tiles (its GPU backend is wgpu, chosen by ``backend=``)."""
        return False


cuda = _Cuda()

__getattr__ = missing_getattr(__name__)

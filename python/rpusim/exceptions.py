"""Exceptions raised by rpusim. Every message names the argument or parameter at fault."""


class RpusimError(Exception):
    """Base class of all rpusim errors."""


class ConfigError(RpusimError, ValueError):
    """A configuration value is out of range, inconsistent, or not supported."""


class ShapeError(RpusimError, ValueError):
    """An input has the wrong shape."""


class InputError(RpusimError, ValueError):
    """An input holds NaN/Inf, or a scalar argument is out of range (e.g. a negative lr)."""


class DTypeError(RpusimError, TypeError):
    """An input has a dtype that cannot be used (e.g. integer or complex)."""


class StateError(RpusimError, ValueError):
    """A saved state does not fit the object it is loaded into."""


class BackendError(RpusimError, RuntimeError):
    """A compute backend is unknown or unavailable."""


class MissingFeatureError(ConfigError, ImportError):
    """A name of the reference simulator that rpusim does not provide, imported from one of
    rpusim's reference-compatible module paths (also an ImportError, so ``from ... import``
    fails as for any missing name, with a message naming the feature)."""

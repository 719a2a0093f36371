"""The reference's ``aihwkit.simulator`` module path (configs, presets, tiles, parameters, noise models); thin re-exports of rpusim's own modules."""


from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)

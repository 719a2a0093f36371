import dataclasses
import enum
import json
import sys

mod = sys.argv[1]
if mod == "aihwkit":
    from aihwkit.simulator.configs import SoftBoundsDevice, build_config
else:
    from rpusim.configs import SoftBoundsDevice, build_config


def flat(o, prefix=""):
    out = {}
    if dataclasses.is_dataclass(o):
        for f in dataclasses.fields(o):
            out.update(flat(getattr(o, f.name), f"{prefix}{f.name}."))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            out.update(flat(v, f"{prefix}{i}."))
    elif isinstance(o, enum.Enum):
        out[prefix[:-1]] = o.name
    elif isinstance(o, (int, float, str, bool)) or o is None:
        out[prefix[:-1]] = o
    return out


res = {}
for a in ["sgd", "tiki-taka", "ttv2", "c-ttv2", "agad", "mp"]:
    c = build_config(a, SoftBoundsDevice, construction_seed=3)
    res[a] = {"cls": type(c).__name__, "dev": type(c.device).__name__, **flat(c)}
json.dump(res, open(f"/tmp/bc_{mod}.json", "w"))

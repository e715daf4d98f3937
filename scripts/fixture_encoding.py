"""How the fixture scripts write tensor values into JSON, shared so every
fixture file encodes floats the same way (the TS side decodes them in
test/helpers)."""
import math

import numpy as np


def enc_scalar(v, dtype):
    """One value: bools and ints as JSON numbers, NaN/inf as strings, and
    float32 as the shortest decimal that reads back as the same float32."""
    if dtype == 'bool':
        return bool(v)
    if dtype not in ('float32', 'float64'):
        return int(v)
    f = float(v)
    if math.isnan(f):
        return 'nan'
    if math.isinf(f):
        return 'inf' if f > 0 else '-inf'
    if dtype == 'float32':
        return float(repr(np.float32(f)))
    return f

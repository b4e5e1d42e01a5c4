"""Layer, group and RMS norm (torchsorflow/ops/normalization.py): with and without the affine
parameters, over one and several normalised dimensions."""
import torchsorflow.nn.functional as F

from . import row

NORMAL3 = ("normal", "positive", "normal")
row("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
    lambda t, x, w, b: t.nn.functional.layer_norm(x, (3, 4), w, b),
    domains=NORMAL3, shapes=[((2, 3, 4), (3, 4), (3, 4))])
row("layer_norm", lambda x: F.layer_norm(x, 5, eps=1e-3),
    lambda t, x: t.nn.functional.layer_norm(x, (5,), eps=1e-3), shapes=[((2, 5),), ((5,),)])
row("layer_norm", lambda x, w: F.layer_norm(x, 4, w),
    lambda t, x, w: t.nn.functional.layer_norm(x, (4,), w),
    domains=("normal", "normal"), shapes=[((3, 4), (4,))])
row("rms_norm", lambda x, w: F.rms_norm(x, (4,), w, eps=1e-6),
    lambda t, x, w: t.nn.functional.rms_norm(x, (4,), w, eps=1e-6),
    domains=("normal", "normal"), shapes=[((2, 3, 4), (4,))])
row("rms_norm", lambda x: F.rms_norm(x, (2, 3)),
    lambda t, x: t.nn.functional.rms_norm(x, (2, 3)), shapes=[((4, 2, 3),)])
row("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b),
    lambda t, x, w, b: t.nn.functional.group_norm(x, 2, w, b),
    domains=NORMAL3, shapes=[((2, 4, 3, 2), (4,), (4,)), ((3, 6, 2), (6,), (6,))])
row("group_norm", lambda x: F.group_norm(x, 3),
    lambda t, x: t.nn.functional.group_norm(x, 3), shapes=[((2, 3, 4),), ((2, 6),)])

"""Forward mode: carry tangents forward together with the primal computation.

A :class:`ForwardTrace` level boxes each result with its tangent, computed on the spot by the
primitive's JVP rule; no graph is recorded at this level, so memory does not grow with the length
of the computation. Because JVP rules are written with primitives, a reverse level *below* this one
records the tangent computation too, which is what makes forward-over-reverse ``hvp`` work.
"""
from __future__ import annotations

from ..ops.shape import astype, broadcast_to
from .tracer import Box, Trace, box


def _broadcast_tangent(tangent, ans):
    if tangent.shape != ans.shape:
        tangent = broadcast_to(tangent, ans.shape)
    if tangent.dtype != ans.dtype:
        tangent = astype(tangent, ans.dtype)
    return tangent


def _rule(prim, i):
    rules = prim.jvp
    rule = rules[i] if i < len(rules) else None
    if rule is None:
        raise NotImplementedError(f"{prim.name}: argument {i} has a tangent but no forward-mode "
                                  "rule (it is not differentiable)")
    return rule


class ForwardTrace(Trace):
    __slots__ = ()

    def process(self, prim, args, inner_args, out_inner, params):
        if prim.jvp is None:
            raise NotImplementedError(f"{prim.name}: no forward-mode (jvp) rule")
        if prim.joint_jvp:
            tangents = [a._tangent if isinstance(a, Box) and a._trace is self else None
                        for a in args]
            tangent = prim.jvp(tangents, out_inner, *inner_args, **params)
        else:
            tangent = None
            for i, a in enumerate(args):
                if isinstance(a, Box) and a._trace is self:
                    term = _rule(prim, i)(a._tangent, out_inner, *inner_args, **params)
                    if term is not None:
                        tangent = term if tangent is None else tangent + term
        if tangent is None:
            return out_inner
        return box(out_inner, self, tangent=_broadcast_tangent(tangent, out_inner))

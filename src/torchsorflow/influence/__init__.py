"""Influence functions: which training points made this prediction (Koh & Liang, 2017).

:class:`InfluenceModel` wraps a trained model and its training data and answers, for a test
point, how its loss would change if each training point were removed -- with an exact, CG or LiSSA
inverse Hessian -- and checks itself: :meth:`~InfluenceModel.validate_loo` retrains without the
most influential points, :meth:`~InfluenceModel.check_taylor` verifies the seed's first-order
expansion θ̂(ε) ≈ θ̂ + ε dθ̂/dε numerically.

>>> import numpy as np
>>> from torchsorflow import nn
>>> from torchsorflow.influence import InfluenceModel
>>> X = np.random.default_rng(1).normal(size=(50, 3)); y = (X.sum(1) > 0).astype(int)
>>> influence = InfluenceModel(nn.Linear(3, 2), None, (X, y), l2=0.05).fit()
>>> check = influence.validate_loo((X[0], 1 - y[0]), k=10)
>>> check.pearson > 0.99
True
"""
from .model import InfluenceModel, TopInfluences
from .objective import Objective
from .optimize import minimize_risk
from .solvers import (CGSolver, ExactSolver, InfluenceWarning, LissaDivergenceError, LissaSolver,
                      NotPositiveDefiniteError)
from .validation import LOOResult, TaylorCheck

__all__ = ["InfluenceModel", "TopInfluences", "Objective", "minimize_risk", "ExactSolver",
           "CGSolver", "LissaSolver", "InfluenceWarning", "NotPositiveDefiniteError",
           "LissaDivergenceError", "LOOResult", "TaylorCheck"]

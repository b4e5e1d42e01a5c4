"""Special functions and the primitives behind distributions (torchsorflow/ops/special.py)."""
import numpy as np

from torchsorflow.ops import special

from . import row, unary

unary("lgamma", special.lgamma, lambda t, x: t.lgamma(x), domain="positive")
unary("digamma", special.digamma, lambda t, x: t.digamma(x), domain="positive")
unary("polygamma", lambda x: special.polygamma(2, x), lambda t, x: t.polygamma(2, x),
      domain="positive")
unary("erfinv", special.erfinv, lambda t, x: t.erfinv(x),
      make=lambda rng: [rng.uniform(-0.9, 0.9, (2, 3))])
A = np.array([0.7, 1.5, 3.0])
unary("gammainc", lambda x: special.gammainc(A, x),
      lambda t, x: t.special.gammainc(t.tensor(A), x), torch_modes=("rev",),
      make=lambda rng: [rng.uniform(0.5, 2.0, (3,))])  # PyTorch has no forward mode for it
DRAWS = np.array([0.3, 1.1, 2.4])
APPROXIMATE = ("PyTorch's slopes are approximations good to about 1e-4; "
               "tests/test_distributions.py compares them at that tolerance, and ours with SciPy's "
               "quantiles to 1e-9")
row("standard_gamma_grad", lambda a: special.standard_gamma_grad(a, DRAWS),
    make=lambda rng: [rng.uniform(0.5, 3.0, (3,))], order=0, modes=(), reason=APPROXIMATE)
row("standard_gamma", lambda a: special._standard_gamma(a, DRAWS),
    make=lambda rng: [rng.uniform(0.5, 3.0, (3,))], order=0, modes=(),
    reason="a random draw moved by its slope dx/da, which finite differences cannot see (the "
           "draw is held fixed): the slope is compared with PyTorch's above")
SIMPLEX = np.array([[0.2, 0.5, 0.3]])
row("dirichlet_grad", lambda alpha: special.dirichlet_grad(SIMPLEX, alpha, alpha.sum(-1, True)),
    make=lambda rng: [rng.uniform(0.5, 3.0, (1, 3))], order=0, modes=(), reason=APPROXIMATE)
row("sample_dirichlet", lambda alpha: special._sample_dirichlet(alpha, SIMPLEX),
    make=lambda rng: [rng.uniform(0.5, 3.0, (1, 3))], order=0, modes=(),
    reason="a random draw moved by implicit reparameterisation, which finite differences cannot "
           "see (the draw is held fixed): checked against PyTorch in tests/test_distributions.py")

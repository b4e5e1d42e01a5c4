"""Utilities for modules, as in ``torch.nn.utils``: gradient clipping
(:func:`clip_grad_norm_`, :func:`clip_grad_value_`), flattening parameters into one vector and back
(:func:`parameters_to_vector`, :func:`vector_to_parameters`), calling a module with other
parameters (:func:`stateless.functional_call`), reparametrizing its tensors (:mod:`.parametrize`,
:mod:`.parametrizations`: weight and spectral normalisation), and packing variable-length
sequences for the recurrent layers (:mod:`.rnn`)."""
from . import rnn, stateless
from . import parametrizations, parametrize
from .clip_grad import (clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                        get_total_norm)
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm
from .convert import parameters_to_vector, vector_to_parameters
from .stateless import functional_call

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters",
           "functional_call", "rnn", "stateless"]
__all__ += ["clip_grad_norm", "clip_grads_with_norm_", "get_total_norm", "parametrizations",
            "parametrize", "weight_norm", "remove_weight_norm", "spectral_norm",
            "remove_spectral_norm"]

"""What a CNN looks at: deconvnet, saliency, guided backprop, Grad-CAM, class models, DeepDream.

One contract for every attribution method, as in Captum: ``fn(model, image, target=None)`` takes
images (N,3,H,W) in [0,1] and returns a tensor shaped like the input (Grad-CAM: (N,1,H,W)).
``target=None`` means each image's top class; the score is the *pre-softmax* class score.

>>> net = nm.models.load("efficientnet_lite0")
>>> img = nm.sample_image("chelsea", 224)
>>> s = saliency(net, img)                       # |d score / d x|, Simonyan et al. 2014
>>> g = guided_backprop(net, img)                # Springenberg et al. 2015
>>> heat = heatmap(s)                            # max over colour channels, as in the paper

The three backprop methods differ only in the backward pass through the rectifiers, which
:func:`modified_backprop` swaps (in the spirit of the 2015 Lasagne ``ModifiedBackprop``):

=============  ==========================================  =================================
rule           backward through y = relu(x)                paper
=============  ==========================================  =================================
gradient       g · [x > 0]                                 Simonyan et al. 2014
deconvnet      relu(g)                                     Zeiler & Fergus 2013
guided         g · [x > 0] · [g > 0]                       Springenberg et al. 2015
=============  ==========================================  =================================

It catches ``nn.ReLU`` / ``nn.ReLU6`` modules, ``torch.relu`` / ``F.relu`` / ``F.relu6`` /
``F.hardtanh(x, 0, m)`` / ``Tensor.relu`` calls inside ``forward`` and in-place variants of all
of them, which module hooks (Captum) cannot see.

The pieces, one file each:

- :mod:`.rules`: the rectifier swap, :func:`modified_backprop` and :data:`RULES`;
- :mod:`.gradients`: w = ∂S_c/∂I (Simonyan 2014, eq. 2) as :func:`input_gradient`,
  :func:`saliency`, :func:`deconvnet`, :func:`guided_backprop`; :func:`smoothgrad`
  (Smilkov 2017, eq. 3); :func:`random_attribution`, the baseline;
- :mod:`.grad_cam`: L = ReLU(Σ_k α_k A^k) (Selvaraju 2017, eqs. 1–2), :func:`grad_cam`,
  :func:`guided_grad_cam`;
- :mod:`.display`: :func:`heatmap` (M_ij = max_c |w(i,j,c)|), :func:`to_rgb`, :func:`overlay`;
- :mod:`.patches`: Zeiler & Fergus' :func:`receptive_field`, :func:`top_patches` and
  :func:`deconv_projection` with max-unpooling switches;
- :mod:`.class_model`: argmax_I S_c(I) − λ‖I‖² (Simonyan 2014, eq. 1), :func:`class_model`;
- :mod:`.deepdream`: ascent of ½‖a_l(I)‖² over octaves (Mordvintsev et al. 2015), :func:`deepdream`;
- :mod:`.scores`: :func:`score_methods` and :func:`format_scores` against ground-truth masks
  (pointing game, mass inside the mask, from :mod:`nomysticism.metrics`);
- :mod:`.paper_model`: :func:`load_paper_model`, the paper's network or an offline stand-in.

:data:`METHODS` names the methods that notebook 03 compares and :func:`score_methods` scores.
"""

from __future__ import annotations

from collections.abc import Callable

from ..metrics import _as_map, mass_in_mask, pointing_game  # noqa: F401 (re-exported)
from .class_model import _gaussian_blur, _jitter, _mean_image, class_model  # noqa: F401
from .deepdream import _dream_objective, deepdream  # noqa: F401
from .display import heatmap, overlay, to_rgb
from .grad_cam import _grad_cam_map, _resolve_layer, grad_cam, guided_grad_cam  # noqa: F401
from .gradients import (  # noqa: F401
    _prepare,
    _score,
    _targets,
    deconvnet,
    guided_backprop,
    input_gradient,
    random_attribution,
    saliency,
    smoothgrad,
)
from .paper_model import load_paper_model
from .patches import (  # noqa: F401
    TopPatches,
    _layers_upto,
    _project_autograd,
    _project_switches,
    _unit_seed,
    _Unsupported,
    deconv_projection,
    receptive_field,
    top_patches,
)
from .rules import RULES, _ModifiedBackprop, _parse_rectifier, _Rectifier, modified_backprop  # noqa: F401
from .scores import format_scores, score_methods

__all__ = [
    "RULES",
    "modified_backprop",
    "input_gradient",
    "saliency",
    "deconvnet",
    "guided_backprop",
    "grad_cam",
    "guided_grad_cam",
    "smoothgrad",
    "random_attribution",
    "METHODS",
    "heatmap",
    "to_rgb",
    "overlay",
    "receptive_field",
    "TopPatches",
    "top_patches",
    "deconv_projection",
    "class_model",
    "deepdream",
    "pointing_game",
    "mass_in_mask",
    "score_methods",
    "format_scores",
    "load_paper_model",
]

#: The methods compared in notebook 03 and scored by :func:`score_methods`.
METHODS: dict[str, Callable] = {
    "gradient": saliency,
    "deconvnet": deconvnet,
    "guided": guided_backprop,
    "grad_cam": grad_cam,
    "guided_grad_cam": guided_grad_cam,
    "smoothgrad": smoothgrad,
    "random": random_attribution,
}

"""Loss landscapes (Li et al. 2018, "Visualizing the loss landscape of neural nets").

The landscape of a trained model with parameters θ along directions δ (and η) is
L(θ + α δ + β η), evaluated on a grid of α, β in [-1, 1] by default, so its centre is the
trained model's loss. Directions are random Gaussian with **filter normalisation**: every filter
(output unit: a row of a Linear weight, an output channel of a convolution) of δ is rescaled to
the norm of the same filter of θ; 1-D parameters (biases, BatchNorm) get a zero direction, as in
Li et al.'s experiments. The circuit weights of the quantum layer are rotation angles, so they
are handled explicitly (``quantum_scale``):

* ``"norm"`` treats each circuit layer's n angles as one filter scaled to the trained angles'
  norm, exactly like a classical layer (the like-for-like comparison);
* ``"period"`` scales them to the 2π period instead (each angle moves by about ±π at α = ±1):
  angles are not scale-invariant the way ReLU weights are, their natural unit is the period.

Grids are evaluated with stacked weights: many parameter points go through each layer at once
(one einsum per Linear layer, one estimator call per chunk for the circuit).

Along directions that move only the circuit weights the landscape is 2π-periodic; its Fourier
spectrum is taken of what the circuit expresses, the quantum layer's mean outputs ⟨Z_j⟩, not of
the loss (:mod:`.spectrum`). The training trajectory gives the PCA plane of the centred
offsets, as in Li et al., and how far training moved each parameter tensor (:mod:`.trajectory`).

Sharpness, the notebook's verdict, is **adaptive sharpness** (Kwon et al. 2021; Andriushchenko
et al. 2023) with the logits layer centred and the circuit angles held fixed (:mod:`.invariant`):
it is unchanged by the three function-preserving reparametrisations it covers (a ReLU unit's
rescaling, whole periods added to circuit angles, the softmax shift of the logits layer), unlike
the filter-normalised radius test and the top Hessian eigenvalue (:mod:`.sharpness`,
exploratory). With the angles moved in units of their period (which the circuit's gates
determine) it is invariant too, but depends on that unit's convention: exploratory.
"""

from helpers.analysis.landscape.directions import (
    filter_normalised_direction,
    normalisation_report,
    quantum_parameters,
    trained_parameters,
)
from helpers.analysis.landscape.grid import Landscape, landscape, training_sample
from helpers.analysis.landscape.invariant import (
    adaptive_sharpness,
    angle_periods,
    rescale_relu_unit,
    shift_angles,
    symmetries,
)
from helpers.analysis.landscape.saved import (
    LandscapePoint,
    landscape_point,
    load_landscapes,
    save_directions,
    surface_path,
)
from helpers.analysis.landscape.sharpness import (
    ANALYSIS,
    invariance_report,
    landscape_results,
    sharpness,
)
from helpers.analysis.landscape.spectrum import spectrum_frequencies
from helpers.analysis.landscape.trajectory import circuit_displacement, parameter_displacement
from helpers.analysis.landscape.views import periodic_landscape, trajectory_landscape, whole_network

__all__ = [
    "ANALYSIS",
    "Landscape",
    "LandscapePoint",
    "adaptive_sharpness",
    "angle_periods",
    "circuit_displacement",
    "filter_normalised_direction",
    "invariance_report",
    "landscape",
    "landscape_point",
    "landscape_results",
    "load_landscapes",
    "normalisation_report",
    "parameter_displacement",
    "periodic_landscape",
    "quantum_parameters",
    "rescale_relu_unit",
    "save_directions",
    "sharpness",
    "shift_angles",
    "spectrum_frequencies",
    "surface_path",
    "symmetries",
    "trained_parameters",
    "training_sample",
    "trajectory_landscape",
    "whole_network",
]

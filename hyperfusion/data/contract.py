"""The one image contract both tasks' models, the cohorts and the QC follow.

Every image a model sees, in training and in the app, is a skull-stripped T1,
affinely (12 degrees of freedom) registered to nilearn's MNI152 2009 template and
intensity-normalised inside the brain. The synthetic cohorts are rendered under it
(head sizes equalised, as the registration does), :mod:`hyperfusion.data.preprocess`
brings any other scan into it, and :mod:`hyperfusion.data.qc` warns when an image
looks outside it. Other modules quote :data:`IMAGE_CONTRACT` rather than restating it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageContract:
    """What an image must be before a model reads it."""

    modality: str = "T1"
    skull_stripped: bool = True
    template: str = "nilearn's MNI152 2009 template"
    registration: str = "affinely (12 degrees of freedom)"
    intensity: str = "intensity-normalised inside the brain"
    normalisation: str = (
        "z-scored over the brain's (non-zero) voxels of each model input, background 0"
    )

    @property
    def sentence(self) -> str:
        """The contract in one sentence, as the model card and checkpoints state it.

        Example:
            >>> IMAGE_CONTRACT.sentence.split(",")[0]
            'skull-stripped T1'
        """
        stripped = "skull-stripped " if self.skull_stripped else ""
        return (
            f"{stripped}{self.modality}, {self.registration} registered to "
            f"{self.template}, {self.intensity}"
        )


IMAGE_CONTRACT = ImageContract()

__all__ = ["IMAGE_CONTRACT", "ImageContract"]

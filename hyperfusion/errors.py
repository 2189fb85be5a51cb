"""Typed errors whose messages a user can act on.

Every message is one line that says what was wrong and what is accepted. The CLI turns
any :class:`HyperFusionError` into exit code 2; the UI shows it with ``st.error``.
"""

from __future__ import annotations


class HyperFusionError(Exception):
    """Base class of every error the user can fix by changing their input."""


class InvalidMRIError(HyperFusionError):
    """The MRI file could not be used (not NIfTI, truncated, wrong shape, no signal)."""


class InvalidScanError(InvalidMRIError):
    """A DICOM upload could not be used (unsafe or broken zip, no 3D series)."""


class TemporaryFolderError(HyperFusionError):
    """The temporary folder an upload is unpacked in cannot be created or written."""


class PreprocessingError(HyperFusionError):
    """A preprocessing step could not bring the scan into the image contract."""


class InvalidEHRError(HyperFusionError):
    """An EHR value is unknown, out of range or not a number."""


class UnknownModelError(HyperFusionError):
    """A model or task name is not in the registry."""


class UnknownMethodError(HyperFusionError, ValueError):
    """An explanation method name is not one of those offered."""


class WeightsError(HyperFusionError):
    """A checkpoint is missing, corrupt or does not match its checksum."""


class CohortError(HyperFusionError):
    """A cohort directory is missing files or columns."""


class MarkerError(HyperFusionError):
    """A generated block's begin and end marker lines are missing or out of order."""

"""Smooth random functions of position (random Fourier features) for the synthetic sections."""

from __future__ import annotations

import numpy as np

Fields = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Wave vectors (x and y), phases and amplitudes, each ``n_fields × n_waves``."""


def smooth_fields(
    rng: np.random.Generator, n_fields: int, n_waves: int, wavelength: tuple
) -> Fields:
    """``n_fields`` smooth random functions of position (µm), each a sum of ``n_waves`` plane
    waves with wavelengths drawn in ``wavelength``."""
    angle = rng.uniform(0, 2 * np.pi, (n_fields, n_waves))
    freq = 2 * np.pi / rng.uniform(*wavelength, (n_fields, n_waves))
    phase = rng.uniform(0, 2 * np.pi, (n_fields, n_waves))
    amp = rng.uniform(0.5, 1.0, (n_fields, n_waves))
    return np.cos(angle) * freq, np.sin(angle) * freq, phase, amp


def eval_fields(fields: Fields, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Evaluate the fields at points; ``len(x) × n_fields``."""
    wx, wy, phase, amp = fields
    arg = x[:, None, None] * wx + y[:, None, None] * wy + phase
    return (amp * np.cos(arg)).sum(axis=2)


def eval_grid(fields: Fields, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Evaluate the fields on the grid ``ys × xs``; float32 ``n_fields × len(ys) × len(xs)``.

    ``cos(a + b) = cos a cos b - sin a sin b`` makes this a small matrix product per field.
    """
    wx, wy, phase, amp = fields
    a = xs[None, None, :] * wx[..., None] + phase[..., None]  # fields, waves, width
    b = ys[None, None, :] * wy[..., None]  # fields, waves, height
    left = np.concatenate([amp[..., None] * np.cos(b), -amp[..., None] * np.sin(b)], axis=1)
    right = np.concatenate([np.cos(a), np.sin(a)], axis=1)
    return np.matmul(left.transpose(0, 2, 1), right).astype(np.float32)

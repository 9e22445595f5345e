"""Sampling: let a model continue a piece (or start from silence), one frame at a time."""
import numpy as np
import torch

from core.units.models import RecurrentModel


@torch.no_grad()
def sample(model: RecurrentModel, steps: int, temperature: float = 1.0, seed: int = 0,
           prime: np.ndarray | None = None) -> np.ndarray:
    """Generate ``steps`` new frames.

    Each key of the next frame is drawn independently, on with probability
    ``sigmoid(logit / temperature)``; the drawn frame is the next input.

    Parameters
    ----------
    prime : np.ndarray, shape=(P, 88), optional
        Frames to read first (the piece to continue); None starts from silence.

    Returns
    -------
    roll : np.ndarray, shape=(steps, 88), dtype uint8
        The generated frames only (not the prime).
    """
    if steps < 0 or not temperature > 0:
        raise ValueError("steps must be >= 0 and temperature > 0")
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(1, 88, device=device)            # the silent first frame
    state = None
    for frame in (prime if prime is not None else []):
        _, state = model.step(x, state)
        x = torch.as_tensor(np.asarray(frame), dtype=torch.float32, device=device).view(1, 88)
    out = np.zeros((steps, 88), np.uint8)
    for t in range(steps):
        logits, state = model.step(x, state)
        p = torch.sigmoid(logits.cpu() / temperature)
        frame = (torch.rand(p.shape, generator=gen) < p).float()
        out[t] = frame[0].numpy()
        x = frame.to(device)
    return out

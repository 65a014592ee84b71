"""The paper's objective, shared by training-free prompt fitting and training, computed the way the authors'
released code computes it.

Hang et al. (TMM 2023) train the motion generator with (docs/training.md has the sources):

- a contrastive CLIP loss on the LAST frame only (ViT-B/32, temperature τ = 0.07): with S_ij the cosine
  similarity of frame i's image embedding and prompt j's text embedding,
      L_clip = mean_i log(1 + Σ_{j ∈ neg(i)} exp((S_ij − S_ii) / τ)),
  where neg(i) are the prompts different from prompt i (a duplicate prompt is not a negative). With a
  single distinct prompt there are no negatives and the loss is the plain mean(1 − S_ii);
- latent regularisation: Σ_t mean((w[t] − w0)²) = Σ_t mean(Δw[t]²), summed over the frames;
- a first-to-last tie mean((Δw[0] − Δw[T−1])²), so a clip can loop;
- second-order temporal smoothness ("path length"): mean((Δw[t+1] − 2Δw[t] + Δw[t−1])²);
- an ArcFace (IR-SE50) identity loss mean(1 − ⟨f(x), f(y)⟩) when its weights are present, and LPIPS
  when the `lpips` package is installed (it is not a dependency: the term is skipped, visibly).

Shapes: B batch, T frames, L W+ layers, D style width, E CLIP embedding width, K prompts.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import LossWeights
from ..errors import LganimError

TEMPERATURE = LossWeights.temperature     # τ of the contrastive loss (official: 0.07)
PHOTO_LPIPS = 1.0                         # λ_lpips of training's photo recipe (official train.py)


# ---------------------------------------------------------------------------------------------------------
# CLIP terms
# ---------------------------------------------------------------------------------------------------------

def contrastive_loss(sim: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                     temperature: float = TEMPERATURE) -> torch.Tensor:
    """mean_i log(1 + Σ_j exp((S_ij − S_i,positive_i) / τ)), j over row i's own prompt and its negatives.

    As the official code computes it, the sum includes j = i (a constant e^0 = 1), so each row is
    log(2 + Σ_{negatives} …). sim: [B, K] image-text similarities; positive: [B] index of each row's own
    prompt; negative: [B, K] bool (duplicates of prompt i are neither negatives nor counted twice).
    """
    own = sim.gather(1, positive[:, None])                                   # [B, 1]
    logits = (sim - own) / temperature                                       # [B, K]; 0 at the own prompt
    in_sum = negative.clone()
    in_sum.scatter_(1, positive[:, None], True)
    logits = logits.masked_fill(~in_sum, float("-inf"))
    # log(1 + Σ exp(x)) = logsumexp([0, x...]), stable for large x
    zero = logits.new_zeros(logits.shape[0], 1)
    return torch.logsumexp(torch.cat((zero, logits), dim=1), dim=1).mean()


def cosine_loss(image_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
    """mean_i (1 − cos(image_i, text_i)); text_emb [B, E] or [1, E] (broadcast)."""
    return (1 - F.cosine_similarity(image_emb, text_emb.expand_as(image_emb), dim=-1)).mean()


def prompt_targets(prompts: Sequence[str], negatives: Sequence[str] = ()) -> tuple[list[str], torch.Tensor,
                                                                                      torch.Tensor]:
    """The prompt set of a contrastive loss: (texts [K], positive [B], negative mask [B, K]).

    texts are the distinct batch prompts followed by the extra `negatives` not among them; a text is a
    negative of row i when it differs from prompt i (duplicates in the batch are not negatives).
    """
    texts = list(dict.fromkeys(list(prompts) + list(negatives)))
    index = {t: k for k, t in enumerate(texts)}
    positive = torch.tensor([index[p] for p in prompts], dtype=torch.long)
    negative = positive[:, None] != torch.arange(len(texts))[None, :]
    return texts, positive, negative


def clip_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
              temperature: float = TEMPERATURE) -> torch.Tensor:
    """The paper's CLIP term: contrastive when any row has a negative, else the plain 1 − cos form.

    image_emb: [B, E]; text_emb: [K, E] (both L2-normalised); positive, negative from `prompt_targets`.
    """
    image_emb, text_emb = F.normalize(image_emb, dim=-1), F.normalize(text_emb.to(image_emb), dim=-1)
    if not bool(negative.any()):
        return cosine_loss(image_emb, text_emb[positive.to(text_emb.device)])
    sim = image_emb @ text_emb.T                                             # [B, K]
    return contrastive_loss(sim, positive.to(sim.device), negative.to(sim.device), temperature)


# ---------------------------------------------------------------------------------------------------------
# W-space terms on the offsets Δw [B, T, L, D]
# ---------------------------------------------------------------------------------------------------------

def _check_offsets(dw: torch.Tensor) -> None:
    if not isinstance(dw, torch.Tensor) or dw.ndim != 4:
        shape = tuple(dw.shape) if isinstance(dw, torch.Tensor) else type(dw).__name__
        raise LganimError(f"Motion offsets must be a tensor [batch, frames, layers, dim], got {shape}.")


def latent_loss(dw: torch.Tensor) -> torch.Tensor:
    """Σ_t mean_{b,l,d}(Δw[b, t]²) = Σ_t mse(w[t], w0): stay near the start code (official: summed over t)."""
    _check_offsets(dw)
    return dw.pow(2).mean(dim=(0, 2, 3)).sum()


def loop_loss(dw: torch.Tensor) -> torch.Tensor:
    """mean((Δw[0] − Δw[T−1])²): the last frame returns to the first, so the clip loops."""
    _check_offsets(dw)
    return (dw[:, 0] - dw[:, -1]).pow(2).mean()


def smoothness_loss(dw: torch.Tensor) -> torch.Tensor:
    """mean((Δw[t+1] − 2Δw[t] + Δw[t−1])²) over t = 1..T−2 (zero below 3 frames)."""
    _check_offsets(dw)
    if dw.shape[1] < 3:
        return dw.new_zeros(())
    return (dw[:, 2:] - 2 * dw[:, 1:-1] + dw[:, :-2]).pow(2).mean()


# ---------------------------------------------------------------------------------------------------------
# Identity (ArcFace IR-SE50) and LPIPS
# ---------------------------------------------------------------------------------------------------------

def identity_loss(features: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """mean_i(1 − ⟨f_i, r_i⟩) for L2-normalised identity features [B, 512]."""
    return (1 - (features * reference).sum(dim=-1)).mean()


def load_lpips(device: torch.device | str = "cpu") -> nn.Module | None:
    """LPIPS (VGG) when the optional `lpips` package is installed, else None (the term is then skipped)."""
    try:
        import lpips  # optional, not a dependency
    except ImportError:
        return None
    return lpips.LPIPS(net="vgg", verbose=False).to(device).eval().requires_grad_(False)


# ---------------------------------------------------------------------------------------------------------
# The objective shared by training and prompt fitting
# ---------------------------------------------------------------------------------------------------------

class MotionObjective(nn.Module):
    """Render the last frame of each clip and score a batch of motions with the paper's losses.

    stylegan: frozen StyleGAN2 with `synthesis(ws [N, L, D]) -> [N, 3, H, W]`;
    clip: frozen loss CLIP (`encode_text(list) -> [K, E]`, differentiable `encode_image`);
    identity / lpips: optional networks (None: the term is skipped and listed in `skipped`).
    """

    def __init__(self, stylegan: nn.Module, clip: nn.Module, weights: LossWeights = LossWeights(), *,
                 identity: nn.Module | None = None, lpips: nn.Module | None = None):
        super().__init__()
        self.stylegan, self.clip, self.weights = stylegan, clip, weights
        self.identity, self.lpips = identity, lpips
        self._text_cache: dict[str, torch.Tensor] = {}

    @property
    def skipped(self) -> list[str]:
        """Terms with a non-zero weight that cannot run here."""
        out = []
        if self.weights.identity > 0 and self.identity is None:
            out.append("identity (no ir_se50.pth)")
        if self.weights.lpips > 0 and self.lpips is None:
            out.append("lpips (package not installed)")
        return out

    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """[K, E] text embeddings of the frozen loss CLIP, computed once per distinct text."""
        missing = [t for t in texts if t not in self._text_cache]
        if missing:
            with torch.no_grad():
                for t, e in zip(missing, self.clip.encode_text(missing)):
                    self._text_cache[t] = e.float()
        return torch.stack([self._text_cache[t] for t in texts])

    def forward(self, w0: torch.Tensor, dw: torch.Tensor, prompts: Sequence[str], *, negatives: Sequence[str] = (),
                reference: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and its weighted terms.

        w0: [B, L, D] start codes; dw: [B, T, L, D] offsets (Δw[0] = 0); prompts: B strings;
        negatives: extra prompts that count as negatives of every row (prompt fitting);
        reference: [B, 3, H, W] the input faces for identity/LPIPS (default: the rendered start codes).
        """
        _check_offsets(dw)
        w = self.weights
        terms: dict[str, torch.Tensor] = {}
        if w.latent:
            terms["latent"] = w.latent * latent_loss(dw)
        if w.loop:
            terms["loop"] = w.loop * loop_loss(dw)
        if w.smooth:
            terms["smooth"] = w.smooth * smoothness_loss(dw)
        need_image = w.clip or (w.identity and self.identity is not None) or (w.lpips and self.lpips is not None)
        if need_image:
            last = self.stylegan.synthesis(w0 + dw[:, -1].to(w0))            # [B, 3, H, W], with grad
            if w.clip:
                texts, positive, negative = prompt_targets(prompts, negatives)
                image_emb = self.clip.encode_image(last)                      # [B, E]
                text_emb = self.text_embeddings(texts).to(image_emb.device)   # [K, E]
                terms["clip"] = w.clip * clip_loss(image_emb, text_emb, positive, negative, w.temperature)
            if (w.identity and self.identity is not None) or (w.lpips and self.lpips is not None):
                if reference is None:
                    with torch.no_grad():
                        reference = self.stylegan.synthesis(w0)
                if w.identity and self.identity is not None:
                    with torch.no_grad():
                        ref_id = self.identity(reference)
                    terms["identity"] = w.identity * identity_loss(self.identity(last), ref_id)
                if w.lpips and self.lpips is not None:
                    terms["lpips"] = w.lpips * self.lpips(last.float(), reference.float()).mean()
        if not terms:
            raise LganimError("Every loss weight is zero: nothing to optimise.")
        total = sum(terms.values())
        return total, {k: float(v.detach()) for k, v in terms.items()}

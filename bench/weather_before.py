"""The weather models as they were before issue 19 made them faster, kept only as the benchmark's reference:
`bench/weather.py` times them side by side with `mmmrs.weather` and checks that both give the same bytes. Not part of
the package (nothing imports it)."""
from __future__ import annotations
import copy, functools

import numpy as np
from PIL import Image, ImageFilter

from mmmrs.core import make_key
from mmmrs.prompts import sample_prompts

__all__ = ['FOG', 'AIRLIGHT', 'NIGHT', 'SHOT', 'READ', 'TO_LINEAR', 'TO_SRGB', 'SNOW', 'WEATHER_MODELS', 'variant',
           'fractal_noise', 'fog_mask', 'fog_transmission', 'fog', 'built_up', 'night_linear', 'night', 'water_mask',
           'snow_cover', 'desaturate', 'snow', 'make_weather']

def _seed(rng) -> int:
    "A seed drawn from `rng` (a Generator or an int), recorded so the variant can be made again."
    return int(np.random.default_rng(rng).integers(2**63))

def variant(sample: dict, weather: str, img: np.ndarray, record: dict) -> dict:
    "A copy of the clear `sample` with RGB `img`, `weather`, a new key and prompt, and `record` in its provenance."
    if sample["weather"] != "clear": raise ValueError(f"sample {sample['key']} is already {sample['weather']}: scenes start from clear samples")
    if "rgb" not in sample["images"]: raise ValueError(f"sample {sample['key']} has no RGB image: weather is synthesized on RGB only")
    p = sample["provenance"]
    new = {**copy.deepcopy({k: v for k, v in sample.items() if k != "images"}), "images": {"rgb": img}, "weather": weather,
           "satellite": {"rgb": sample["satellite"]["rgb"]}}
    new["key"] = make_key(sample["source"], p.get("scene", sample["key"]), p.get("window"), p.get("level"), variant=weather)
    new["provenance"]["scene_synthesis"] = {"weather": weather, "from_key": sample["key"], **record}
    return {**new, "prompt": sample_prompts(new)}

FOG = {"light": (0.3, 0.6), "moderate": (0.7, 1.2), "dense": (1.4, 2.2)}
AIRLIGHT = (0.75, 0.95)

def fractal_noise(h: int, w: int, seed: int, octaves: int = 5, base: int = 3, persistence: float = 0.5) -> np.ndarray:
    "Smooth fractal noise in [-1, 1]: octaves of bicubically upsampled Gaussian fields, each half the weight."
    rng, acc, amp = np.random.default_rng(seed), np.zeros((h, w), np.float32), 1.0
    for o in range(octaves):
        g = base * 2 ** o + 1
        field = Image.fromarray(rng.standard_normal((g, g)).astype(np.float32), mode="F")
        acc += amp * np.asarray(field.resize((w, h), Image.Resampling.BICUBIC)); amp *= persistence
    return acc / max(float(np.abs(acc).max()), 1e-6)

def fog_mask(h: int, w: int, beta: float, noise_seed: int, depth_variation: float = 0.3, res: int = 128) -> Image.Image:
    "The transmission `exp(-β·(1 + v·noise))` as an 8-bit mask: smooth, so computed at `res` px and resized up."
    t = np.exp(-beta * (1 + depth_variation * fractal_noise(res, res, noise_seed)))
    return Image.fromarray(np.rint(t * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)

def fog_transmission(h: int, w: int, beta: float, noise_seed: int, depth_variation: float = 0.3) -> np.ndarray:
    "The transmission map (0–1) that `fog` uses for these parameters."
    return np.asarray(fog_mask(h, w, beta, noise_seed, depth_variation), np.float32) / 255

def fog(sample: dict, rng, intensity: str = "moderate", beta: float | None = None, airlight=None, depth_variation: float = 0.3) -> dict:
    "Fog by the atmospheric scattering model; β and A drawn from the `intensity` preset unless given."
    r = np.random.default_rng(seed := _seed(rng))
    beta = float(beta if beta is not None else r.uniform(*FOG[intensity]))
    if airlight is None:
        a = r.uniform(*AIRLIGHT)
        airlight = [a, a + r.uniform(0, 0.015), min(1.0, a + r.uniform(0.01, 0.03))]
    noise_seed = int(r.integers(2**31))
    J = Image.fromarray(sample["images"]["rgb"])
    A = Image.new("RGB", J.size, tuple(int(round(255 * x)) for x in airlight))
    I = Image.composite(J, A, fog_mask(J.height, J.width, beta, noise_seed, depth_variation))  # J·t + A·(1 − t)
    record = {"model": "atmospheric scattering I = J t + A (1 - t), t = exp(-beta (1 + v n))", "intensity": intensity, "seed": seed,
              "beta": beta, "airlight": [round(int(round(255 * x)) / 255, 6) for x in airlight], "noise_seed": noise_seed,
              "depth_variation": depth_variation}
    return variant(sample, "fog", np.asarray(I), record)

NIGHT = {"moderate": dict(exposure=(0.15, 0.3), tint=(1.0, 0.88, 0.92), lights=0.3),  # intensities of weather "night"
         "deep": dict(exposure=(0.03, 0.07), tint=(0.78, 0.88, 1.1), lights=1.0)}
SHOT, READ = 2e-4, 4e-4  # a0 and b0 of the noise model, per unit gain
TO_LINEAR = ((np.arange(256) / 255) ** 2.2).astype(np.float32)                          # sRGB (γ 2.2) -> linear, by table
TO_SRGB = np.rint(np.linspace(0, 1, 4096) ** (1 / 2.2) * 255).astype(np.uint8)          # linear (12 bit) -> sRGB

# Before issue 19 `_filter` was a matrix product of sliding windows, whose BLAS rounding depends on the CPU; the
# package's BLAS-free sums stand in for it, so that the bytes compare on every CPU.
from mmmrs.weather import _filter  # noqa: E402

def _local_std(lum: np.ndarray, radius: int = 1) -> np.ndarray:
    box = lambda a: _filter(a, np.full(2 * radius + 1, 1 / (2 * radius + 1)))
    return np.sqrt(np.maximum(box(lum ** 2) - box(lum) ** 2, 0))

def _quarter(rgb: np.ndarray) -> np.ndarray:
    "A 4× smaller copy (area average) for the masks, which are smooth at that scale."
    return np.asarray(Image.fromarray(rgb).reduce(4)).astype(np.float32) / 255

def built_up(rgb: np.ndarray) -> np.ndarray:
    "A [0, 1] heuristic of built-up-ness at quarter resolution: grey, textured, neither green (vegetation) nor dark blue (water)."
    x = _quarter(rgb)
    lum, sat = x.mean(-1), (x.max(-1) - x.min(-1)) / np.maximum(x.max(-1), 1e-3)
    green, water = 2 * x[..., 1] - x[..., 0] - x[..., 2], (x[..., 2] > x[..., 0]) & (lum < 0.3)
    return np.clip((1 - 2 * sat), 0, 1) * np.clip(_local_std(lum) / 0.08, 0, 1) * (green < 0.06) * ~water

def _lights(shape, prob: np.ndarray, r: np.random.Generator, density: float) -> np.ndarray:
    "Linear-light image of point lights placed with probability ∝ `prob` (quarter resolution): sodium or LED cores with glow."
    h, w = shape
    n, f = int(density * prob.sum() * 16 / 150), h // prob.shape[0]
    if n == 0: return np.zeros((h, w, 3), np.float32)
    idx = r.choice(prob.size, size=n, p=(prob / prob.sum()).ravel())
    ys, xs = idx // prob.shape[1] * f + r.integers(f, size=n), idx % prob.shape[1] * f + r.integers(f, size=n)
    colours = (np.where(r.random(n)[:, None] < 0.7, [1.0, 0.62, 0.28], [0.85, 0.9, 1.0]) * r.uniform(0.5, 1.0, (n, 1))).astype(np.float32)
    core, halo = np.zeros((h, w, 3), np.float32), np.zeros((*prob.shape, 3), np.float32)
    np.add.at(core, (ys, xs), colours)
    np.add.at(halo, (ys // f, xs // f), colours)
    glow = Image.fromarray(np.rint(np.clip(halo / 4, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.25))
    return core + np.asarray(glow.resize((w, h), Image.Resampling.BICUBIC), np.float32) / 255  # glow: computed at quarter size

@functools.lru_cache(maxsize=1)
def _normal_field(size: int = 1024) -> np.ndarray:
    return np.random.default_rng(20241127).standard_normal((size, size, 3), dtype=np.float32)

def _normal(shape, r: np.random.Generator) -> np.ndarray:
    field = _normal_field()
    h, w = shape[:2]
    if h > field.shape[0] or w > field.shape[1]: return r.standard_normal(shape, dtype=np.float32)
    y, x = int(r.integers(field.shape[0] - h + 1)), int(r.integers(field.shape[1] - w + 1))
    n = field[y:y + h, x:x + w]
    return n[::-1] if r.random() < 0.5 else n

def night_linear(rgb: np.ndarray, exposure: float, tint, lights, r: np.random.Generator) -> tuple:
    "Noise-free and noisy linear night images of uint8 sRGB `rgb`, and the noise parameters `a`, `b` (σ² = a·x + b)."
    clean = TO_LINEAR[rgb] * (exposure * np.asarray(tint, np.float32))
    if lights is not None: clean += lights  # lights emit: they are not dimmed with the scene
    np.clip(clean, 0, 1, out=clean)
    g = 1 / exposure
    a, b = SHOT * g, (READ * g) ** 2
    return clean, clean + _normal(clean.shape, r) * np.sqrt(a * clean + b), a, b

def night(sample: dict, rng, intensity: str = "deep") -> dict:
    "Night (`moderate` or `deep`) by the low-light camera model."
    r, p, rgb = np.random.default_rng(seed := _seed(rng)), NIGHT[intensity], sample["images"]["rgb"]
    exposure = float(r.uniform(*p["exposure"]))
    lights = _lights(rgb.shape[:2], built_up(rgb) + 1e-4, r, p["lights"])
    _, noisy, a, b = night_linear(rgb, exposure, p["tint"], lights, r)
    out = TO_SRGB[np.rint(np.clip(noisy, 0, 1) * 4095).astype(np.int16)]
    record = {"model": "low-light camera: exposure, tint, lights on built-up pixels, noise var = a x + b in linear light",
              "intensity": intensity, "seed": seed, "exposure": exposure, "tint": list(p["tint"]), "noise_a": a, "noise_b": b,
              "gamma": 2.2, "light_density": p["lights"]}
    return variant(sample, "night", out, record)

SNOW = {"light": (0.25, 0.4), "moderate": (0.45, 0.65), "heavy": (0.7, 0.9)}

def water_mask(rgb: np.ndarray) -> np.ndarray:
    "Dark, bluish, smooth pixels (a heuristic for open water), decided at quarter resolution, at full resolution."
    x = _quarter(rgb)
    lum = x.mean(-1)
    low = (x[..., 2] >= x[..., 0]) & (lum < 0.32) & (_local_std(lum) < 0.03)
    return np.asarray(Image.fromarray(low).resize(rgb.shape[1::-1], Image.Resampling.NEAREST))

def snow_cover(rgb: np.ndarray, cover: float, noise_seed: int) -> np.ndarray:
    "Snow fraction per pixel as uint8 (0–255): open and bright ground first, patchy, none on water."
    x = _quarter(rgb)
    lum = x.mean(-1)
    field = (1 - np.clip(_local_std(lum) / 0.1, 0, 1)) * 0.6 + lum * 0.4 + 0.35 * fractal_noise(*lum.shape, noise_seed)
    s = np.clip((field - np.quantile(field, 1 - cover)) / 0.08 + 0.5, 0, 1)
    up = np.asarray(Image.fromarray(np.rint(s * 255).astype(np.uint8)).resize(rgb.shape[1::-1], Image.Resampling.BICUBIC))
    return up * ~water_mask(rgb)

def desaturate(img: Image.Image, keep: float = 0.85) -> Image.Image:
    "`keep`·colour + (1 − `keep`)·grey: the slightly washed-out look of a snowy scene."
    return Image.blend(img.convert("L").convert("RGB"), img, keep)

def snow(sample: dict, rng, intensity: str = "moderate") -> dict:
    "Snow cover by the weights-free cover model."
    r = np.random.default_rng(seed := _seed(rng))
    cover, noise_seed = float(r.uniform(*SNOW[intensity])), int(r.integers(2**31))
    rgb = sample["images"]["rgb"]
    img, lum = Image.fromarray(rgb), Image.fromarray(rgb).convert("L")
    top = max(lum.getextrema()[1], 1)
    white = Image.merge("RGB", [lum.point([round(255 * c * (0.82 + 0.18 * v / top)) for v in range(256)]) for c in (0.9, 0.93, 0.97)])
    out = Image.composite(white, desaturate(img), Image.fromarray(snow_cover(rgb, cover, noise_seed)))
    record = {"model": "weights-free snow cover: open, bright, not water; fractal patches", "intensity": intensity, "seed": seed,
              "cover": cover, "noise_seed": noise_seed}
    return variant(sample, "snow", np.asarray(out), record)

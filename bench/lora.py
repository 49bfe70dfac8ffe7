"""LoRA training step cost, as ratios measured side by side in one run.

  python bench/lora.py

1. the kit's step (mmmrs.lora.train_lora: data from shards, accelerate, checkpoint-free) vs a minimal hand loop with the
   same model, batch and optimizer (goal: <= 1.05x);
2. the kit's step with cached latents and text embeddings vs without (goal: >= 1.5x faster).
Per-step costs come from runs of two lengths (the difference cancels start-up). The model is the tiny seeded SD of
mmmrs.testing at 512 px (64x64 latents): the VAE-to-UNet cost ratio differs from real SD1.5's, so ratio 2 is only
indicative of the real one.
"""
import tempfile, time
from dataclasses import replace
from pathlib import Path

import torch

from mmmrs.build import build, demo_sources
from mmmrs.lora import LoRAArgs, add_lora, diffusion_loss, encode_prompts, load_components, train_lora, vae_latents
from mmmrs.testing import tiny_sd


def per_step(args, n1=3, n2=13):
    t = []
    for n in (n1, n2):
        s = time.perf_counter(); train_lora(replace(args, max_train_steps=n)); t.append(time.perf_counter() - s)
    return (t[1] - t[0]) / (n2 - n1)


def hand_loop(args, n=10):
    c = load_components(args.pretrained_model_name_or_path)
    torch.manual_seed(0)
    params = add_lora(c["unet"], 4, None, 0.0, LoRAArgs.target_modules)
    opt = torch.optim.AdamW(params, lr=1e-4)
    px = torch.rand(1, 3, 512, 512) * 2 - 1
    def step():
        with torch.no_grad(): lat, emb = vae_latents(c, px), encode_prompts(c, ["Low precision resolution, a satellite image, Sentinel-2"])
        loss = diffusion_loss(c, lat, emb, args); loss.backward(); opt.step(); opt.zero_grad()
    step()
    s = time.perf_counter()
    for _ in range(n): step()
    return (time.perf_counter() - s) / n


def main():
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp())
    data = build(demo_sources(), tmp / "data", progress=False).out
    sd = tiny_sd(tmp / "sd")
    args = LoRAArgs(pretrained_model_name_or_path=str(sd), data=str(data), split=None, output_dir=str(tmp / "run"), resolution=512,
                    checkpointing_steps=10**9, validation_steps=10**9, caption_dropout=0.0)
    kit, hand = per_step(args), hand_loop(args)
    cached = per_step(replace(args, output_dir=str(tmp / "cached"), cache_latents=True))
    print(f"per step: kit {kit * 1e3:.0f} ms, hand loop {hand * 1e3:.0f} ms, kit with cached latents {cached * 1e3:.0f} ms")
    print(f"1. kit / hand loop: {kit / hand:.2f}x  (goal <= 1.05x)")
    print(f"2. speed-up from cached latents: {kit / cached:.2f}x  (goal >= 1.5x)")


if __name__ == "__main__":
    main()

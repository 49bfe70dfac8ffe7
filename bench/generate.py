"""Generation throughput of an SD1.5-size pipeline with random weights: the kit's `generate_images` vs bare pipeline calls.

  python bench/generate.py                                  # on a GPU: 512x512, 30 steps, fp16, batch 1/4/8
  python bench/generate.py --size 64 --steps 2 --batches 1  # a CPU smoke run

The UNet, VAE and text encoder have SD1.5's configurations (860M-parameter UNet, CLIP ViT-L/14 text tower) with random
weights built in code (no download), the tokenizer is the kit's tiny byte-level one padded to 77 tokens, and the
sampler is the kit's default (DPM++ 2M Karras, guidance 7.5). Both paths run the same prompts and seeds in one process;
the ratio says what writing PNG + JSON per image costs on top of the pipeline.
"""
import argparse, tempfile, time
from pathlib import Path

import pandas as pd
import torch


def sd15_random(device, dtype, tokenizer_dir):
    "An SD1.5-size StableDiffusionPipeline with random weights, built on `device`."
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    from mmmrs.testing import tiny_clip_tokenizer
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=768,
                                    attention_head_dim=8, down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                                    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
        vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
                            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
        text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                            num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu"))
    tok = tiny_clip_tokenizer(tokenizer_dir, max_length=77)
    sched = DPMSolverMultistepScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", use_karras_sigmas=True,
                                        algorithm_type="dpmsolver++", steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False).to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    print(f"UNet {sum(p.numel() for p in unet.parameters()) / 1e6:.0f}M parameters on {device} ({dtype})")
    return pipe


def main(size: int, steps: int, batches: list[int], n: int):
    from mmmrs.generate import build_prompt, generate_images
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    tmp = Path(tempfile.mkdtemp())
    pipe = sd15_random(device, dtype, tmp / "tokenizer")
    prompts = pd.DataFrame({"prompt": [build_prompt(f"scene {i}") for i in range(n)], "seed": range(n)})
    kw = dict(num_inference_steps=steps, guidance_scale=7.5, height=size, width=size)
    pipe(prompts.prompt[:1].tolist(), **kw)  # warm-up (kernels, allocator)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for b in batches:
        sync(); s = time.perf_counter()
        for i in range(0, n, b):
            part = prompts.iloc[i:i + b]
            pipe(list(part.prompt), generator=[torch.Generator().manual_seed(int(x)) for x in part.seed], output_type="np", **kw)
        sync(); bare = time.perf_counter() - s
        s = time.perf_counter()
        generate_images(pipe, prompts, tmp / f"out-{b}", batch_size=b, progress=False, **kw)
        sync(); kit = time.perf_counter() - s
        mem = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device == "cuda" else ""
        print(f"batch {b}: bare pipeline {n / bare:.2f} images/s, kit generate_images {n / kit:.2f} images/s; kit/bare time {kit / bare:.2f}x{mem}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--n", type=int, default=16, help="images per measurement")
    a = ap.parse_args()
    main(a.size, a.steps, a.batches, a.n)

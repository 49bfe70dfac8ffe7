"""Generation throughput of an SD1.5-size pipeline with random weights: the kit's `generate_images` vs bare pipeline calls.

  python bench/generate.py                                  # on a GPU: 512x512, 30 steps, fp16, batch 1/4/8
  python bench/generate.py --precision bf16                 # the same in bf16
  python bench/generate.py --tiny --size 64 --steps 2       # a CPU smoke run (tiny pipeline): checks the script, measures nothing
  python bench/generate.py --simulate-gpu 1.6 --batches 8   # no model: a call waits 1.6 s (the H200's fp16 batch of 8); the writing alone

The UNet, VAE and text encoder have SD1.5's configurations (860M-parameter UNet, CLIP ViT-L/14 text tower) with random
weights built in code (no download), the tokenizer is the kit's tiny byte-level one padded to 77 tokens, and the
sampler is the kit's default (DPM++ 2M Karras, guidance 7.5). All paths run the same prompts and seeds in one process:
bare pipeline calls, `generate_images` writing each PNG + JSON in turn (`write_workers=0`, the old behaviour) and with its
background writer (the default); the ratios say what writing costs on top of the pipeline. Goal on a GPU: kit/bare
<= 1.03x at batch 8.
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


def tiny_random(device, dtype, folder):
    "The kit's tiny test pipeline (`mmmrs.testing.tiny_sd`), for a smoke run."
    from mmmrs.generate import load_pipeline
    from mmmrs.testing import tiny_sd
    return load_pipeline(tiny_sd(folder), device=device, dtype=dtype)


class SleepingPipeline:
    "A stand-in for a pipeline on a GPU: a call waits `seconds` without holding the GIL (as a CUDA sync does), returns random images."
    def __init__(self, seconds: float):
        from diffusers import DPMSolverMultistepScheduler
        self.seconds, self.scheduler, self.dtype = seconds, DPMSolverMultistepScheduler(use_karras_sigmas=True), torch.float16
    def __call__(self, prompt, height, width, generator=None, **_):
        import numpy as np
        from types import SimpleNamespace
        time.sleep(self.seconds)
        seeds = [g.initial_seed() for g in generator] if generator else range(len(prompt))
        noise = [np.random.default_rng(s).random((height, width, 3), np.float32) for s in seeds]  # PNG's worst case
        return SimpleNamespace(images=np.stack(noise))


def timed(fn, sync) -> float:
    sync(); s = time.perf_counter(); fn(); sync()
    return time.perf_counter() - s


def main(size: int, steps: int, batches: list[int], n: int, precision: str | None, tiny: bool, write_workers: int, sleep: float | None):
    import diffusers, transformers
    from mmmrs.generate import build_prompt, generate_images, torch_dtype
    diffusers.utils.logging.set_verbosity_error(); transformers.logging.set_verbosity_error()  # no truncation notice per call
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch_dtype(precision, device)
    if sleep is not None: print(f"simulated GPU: each pipeline call waits {sleep} s and returns random images; what is measured is the writing")
    elif device == "cpu": print("CPU smoke run: no GPU here, so the figures below say nothing about the GPU goal (kit/bare <= 1.03x at batch 8)")
    tmp = Path(tempfile.mkdtemp())
    if sleep is not None: pipe = SleepingPipeline(sleep)
    else: pipe = tiny_random(device, dtype, tmp / "tiny-sd") if tiny else sd15_random(device, dtype, tmp / "tokenizer")
    prompts = pd.DataFrame({"prompt": [build_prompt(f"scene {i}") for i in range(n)], "seed": range(n)})
    kw = dict(num_inference_steps=steps, guidance_scale=7.5, height=size, width=size)
    pipe(prompts.prompt[:1].tolist(), **kw)  # warm-up (kernels, allocator)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    def bare(b):
        for i in range(0, n, b):
            part = prompts.iloc[i:i + b]
            pipe(list(part.prompt), generator=[torch.Generator().manual_seed(int(x)) for x in part.seed], output_type="np", **kw)
    print(f"{n} images per measurement, {size}x{size}, {steps} steps, {str(pipe.dtype).removeprefix('torch.')}, on {'a simulated GPU' if sleep is not None else device}")
    for b in batches:
        t_bare = timed(lambda: bare(b), sync)
        t_serial = timed(lambda: generate_images(pipe, prompts, tmp / f"serial-{b}", batch_size=b, progress=False, write_workers=0, **kw), sync)
        t_kit = timed(lambda: generate_images(pipe, prompts, tmp / f"kit-{b}", batch_size=b, progress=False, write_workers=write_workers, **kw), sync)
        mem = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device == "cuda" else ""
        print(f"batch {b}: bare {n / t_bare:.2f} images/s | kit, writing in turn {n / t_serial:.2f} images/s ({t_serial / t_bare:.3f}x) | "
              f"kit, {write_workers} writer threads {n / t_kit:.2f} images/s ({t_kit / t_bare:.3f}x){mem}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--n", type=int, default=16, help="images per measurement")
    ap.add_argument("--precision", choices=["no", "fp16", "bf16"], default=None, help="default: fp16 on a GPU, no (fp32) on CPU")
    ap.add_argument("--tiny", action="store_true", help="the kit's tiny test pipeline instead of the SD1.5-size one (a smoke run)")
    ap.add_argument("--write-workers", type=int, default=2, help="generate_images' writer threads")
    ap.add_argument("--simulate-gpu", type=float, default=None, metavar="SECONDS",
                    help="no model: each pipeline call waits SECONDS, as a GPU batch does (measures the writing alone, on any machine)")
    a = ap.parse_args()
    main(a.size, a.steps, a.batches, a.n, a.precision, a.tiny, a.write_workers, a.simulate_gpu)

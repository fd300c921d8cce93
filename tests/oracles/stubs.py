"""Import stubs for a runtime's modules that never touch RoPE (kernels, servers, probes).

A stub module answers every attribute with a stub class: it can be subclassed (also next to an
ABC), instantiated, called, used as a decorator (it returns the decorated function unchanged)
and used in `isinstance`; it is falsy and iterates as empty. Nothing computed from a stub can
reach the rotary numbers the oracles read: those come from the runtime's own Python code and
torch.

`StubFinder` goes last on `sys.meta_path` and stubs only a module that is not installed and is
imported from under `source` (the runtime's own tree), plus the submodules of any it stubbed;
`PrefixStubFinder` goes first and stubs named subpackages of the runtime itself. Both record
what they stubbed in `hits`.
"""

from __future__ import annotations

import abc
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class _StubMeta(abc.ABCMeta):
    def __getattr__(cls, name: str) -> Any:
        if _dunder(name):
            raise AttributeError(name)
        return stub_class(name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]  # used as a decorator
        return _StubValue()

    def __iter__(cls) -> Iterator[Any]:
        return iter(())

    def __bool__(cls) -> bool:
        return False


class _StubValue:
    def __getattr__(self, name: str) -> Any:
        if _dunder(name):
            raise AttributeError(name)
        return stub_class(name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return _StubValue()

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class _StubBase(metaclass=_StubMeta):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        pass


def stub_class(name: str) -> type:
    return _StubMeta(name, (_StubBase,), {})


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if _dunder(name):
            raise AttributeError(name)
        return stub_class(name)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


_LOADER = _Loader()


def _spec(name: str) -> importlib.machinery.ModuleSpec:
    return importlib.machinery.ModuleSpec(name, _LOADER, is_package=True)


class PrefixStubFinder(importlib.abc.MetaPathFinder):
    """Stubs the named packages (and everything under them)."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        self.prefixes = tuple(prefixes)
        self.hits: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if any(name == p or name.startswith(p + ".") for p in self.prefixes):
            self.hits.add(name)
            return _spec(name)
        return None


class StubFinder(importlib.abc.MetaPathFinder):
    """Stubs a missing top-level module imported from the runtime's own tree."""

    def __init__(self, source: str, own: str) -> None:
        self.source = source
        self.own = own
        self.hits: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        top = name.split(".")[0]
        if top in self.hits:
            return _spec(name)
        if top == self.own:
            return None
        frame = sys._getframe(1)
        while frame is not None and (
            "importlib" in frame.f_code.co_filename
            or frame.f_code.co_filename.startswith("<frozen")
        ):
            frame = frame.f_back
        if frame is None or not frame.f_code.co_filename.startswith(self.source):
            return None
        self.hits.add(top)
        return _spec(name)

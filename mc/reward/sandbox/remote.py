"""Assert tests in two processes: the test code never shares a process with the program.

HumanEval/MBPP tests are Python code that calls the solution and asserts on
what it returns. Run in one process (as the official harnesses do), the
program can skip them (`exit()` before the asserts), bend them (rebind `abs`,
patch `math.isclose`, rewrite the harness's frames) or answer with an object
whose `__eq__` always says yes. So the sandbox runs two processes per sample:

- the solution process (S) runs the program, then serves calls into its
  namespace: `call`, `getattr`, `setattr`, `getitem`, `len`, `iter`, `next`,
  `bool`, `repr`;
- the test process (T) runs the test code with every name S defined bound to
  a `Remote` proxy (functions, classes), a pristine import (modules), or a copy
  (plain data), and reports whether the asserts held. Only T's report is the
  verdict; S cannot reach T (separate processes, no ptrace, no signals across
  Landlock domains, no shared memory) and never sees the test code.

What crosses between them is plain data in a tagged JSON encoding that keeps
Python's types: tuples stay tuples, dict keys keep their types, sets, bytes,
complex and float inf/nan survive, ints of any size; so do the standard
library's value types (Counter, OrderedDict, defaultdict, deque, Fraction,
Decimal) and builtins passed by name (`int`, `len`). Values of exactly these
types are decoded into fresh objects of the same types, so the asserts run
with Python's own `==` (a list is not a tuple, {'1': 1} is not {1: 1}, 'inf'
is not inf, a Counter equals the dict it counts); anything else (instances of the program's classes, subclasses of
builtins, iterators) stays in S and crosses as a handle, which T compares by
identity only. Arguments that the call mutated in place (a list sorted by the
function) are copied back into T's objects, as the shared-process harness
would show them.
"""

from __future__ import annotations

import base64
import builtins
import collections
import decimal
import fractions
import importlib
import json
import math
import sys
import types
from collections.abc import Callable

from mc.reward.sandbox.protocol import read_frame, write_frame

MAX_MESSAGE = 256 * 2**20
MAX_DEPTH = 2000
_TAGS = {"T", "S", "Z", "D", "B", "Y", "C", "F", "H", "M", "N", "CN", "OD", "DD", "DQ", "FR", "DE"}
# Standard-library value types, by tag: their items cross like a dict's or a list's.
_MAPPINGS = {collections.Counter: "CN", collections.OrderedDict: "OD", collections.defaultdict: "DD"}
_BUILTIN_KINDS = (type, types.BuiltinFunctionType)
_BUILTIN_NAMES = frozenset(dir(builtins))


class SolutionEnded(BaseException):
    """The solution process is gone (it exited or was killed mid-call).

    A BaseException, so test code that catches Exception cannot swallow it."""


class SolutionError(Exception):
    """An exception raised in the solution process that is not a builtin type."""


# --- the encoding -----------------------------------------------------------------

def encode(value, handle: Callable[[object], int], depth: int = 0):
    """Plain data as tagged JSON values; `handle(obj)` names anything else."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"F": repr(value)}
    if kind is list:
        return [encode(v, handle, depth + 1) for v in value]
    if kind is tuple:
        return {"T": [encode(v, handle, depth + 1) for v in value]}
    if kind is set or kind is frozenset:
        return {"S" if kind is set else "Z": [encode(v, handle, depth + 1) for v in value]}
    if kind is dict:
        return {"D": [[encode(k, handle, depth + 1), encode(v, handle, depth + 1)] for k, v in value.items()]}
    if kind is bytes or kind is bytearray:
        return {"B" if kind is bytes else "Y": base64.b64encode(value).decode()}
    if kind is complex:
        return {"C": [encode(value.real, handle), encode(value.imag, handle)]}
    if kind in _MAPPINGS:
        return {_MAPPINGS[kind]: [[encode(k, handle, depth + 1), encode(v, handle, depth + 1)] for k, v in value.items()]}
    if kind is collections.deque:
        return {"DQ": [encode(v, handle, depth + 1) for v in value]}
    if kind is fractions.Fraction:
        return {"FR": [value.numerator, value.denominator]}
    if kind is decimal.Decimal:
        return {"DE": str(value)}
    if kind in _BUILTIN_KINDS and getattr(builtins, getattr(value, "__name__", ""), None) is value:
        return {"N": value.__name__}
    if kind.__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return encode(value.item(), handle, depth + 1)  # numpy scalars compare like their Python values
    return {"H": handle(value)}


def decode(data, resolve: Callable[[int], object], depth: int = 0):
    """The inverse of `encode`: fresh objects of exact builtin types; handles via `resolve`."""
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(v, resolve, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise ValueError("malformed value")
    (tag, body), = data.items()
    if tag not in _TAGS:
        raise ValueError(f"unknown tag {tag!r}")
    items = lambda: [decode(v, resolve, depth + 1) for v in _list(body)]  # noqa: E731
    if tag == "T":
        return tuple(items())
    if tag == "S":
        return set(items())
    if tag == "Z":
        return frozenset(items())
    if tag in ("D", "CN", "OD", "DD"):
        pairs = [(decode(k, resolve, depth + 1), decode(v, resolve, depth + 1)) for k, v in (_pair(p) for p in _list(body))]
        if tag == "DD":
            return collections.defaultdict(None, pairs)
        if tag == "CN":
            return collections.Counter(dict(pairs))  # Counter(pairs) would count the pairs
        return dict(pairs) if tag == "D" else collections.OrderedDict(pairs)
    if tag == "DQ":
        return collections.deque(items())
    if tag == "FR":
        num, den = _pair(body)
        if type(num) is not int or type(den) is not int or den <= 0:
            raise ValueError("malformed fraction")
        return fractions.Fraction(num, den)
    if tag == "DE":
        return decimal.Decimal(_str(body))
    if tag == "N":
        value = getattr(builtins, _str(body), None)
        if not isinstance(value, _BUILTIN_KINDS):
            raise ValueError("not a builtin")
        return value
    if tag in ("B", "Y"):
        raw = base64.b64decode(_str(body), validate=True)
        return raw if tag == "B" else bytearray(raw)
    if tag == "C":
        real, imag = (decode(v, resolve, depth + 1) for v in _pair(body))
        if type(real) is not float and type(real) is not int or type(imag) is not float and type(imag) is not int:
            raise ValueError("malformed complex")
        return complex(real, imag)
    if tag == "F":
        if body not in ("inf", "-inf", "nan"):
            raise ValueError("malformed float")
        return float(body)
    if tag == "H":
        if type(body) is not int:
            raise ValueError("malformed handle")
        return resolve(body)
    raise ValueError("a module where a value is expected")


def _list(value) -> list:
    if type(value) is not list:
        raise ValueError("malformed value")
    return value


def _pair(value) -> list:
    if type(value) is not list or len(value) != 2:
        raise ValueError("malformed pair")
    return value


def _str(value) -> str:
    if type(value) is not str:
        raise ValueError("malformed value")
    return value


def _send(fd: int, message: dict) -> None:
    write_frame(fd, {}, json.dumps(message, allow_nan=False).encode("utf-8", "surrogatepass"))


def _receive(fd: int) -> dict | None:
    frame = read_frame(fd, 4096, MAX_MESSAGE)
    if frame is None:
        return None
    message = json.loads(frame[1].decode("utf-8", "surrogatepass"))
    if type(message) is not dict:
        raise ValueError("malformed message")
    return message


# --- the solution side (untrusted process) ------------------------------------------

class Server:
    """Serves the test process's requests on the program's namespace."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.objects: list = []
        self.ids: dict[int, int] = {}  # id(obj) -> handle: the same object, the same handle

    def handle(self, obj) -> int:
        key = id(obj)
        if key not in self.ids:
            self.ids[key] = len(self.objects)
            self.objects.append(obj)
        return self.ids[key]

    def resolve(self, h: int):
        if not 0 <= h < len(self.objects):
            raise ValueError(f"unknown handle {h}")
        return self.objects[h]

    def encode(self, value):
        return encode(value, self.handle)

    def fail(self, error: str) -> None:
        """The program failed before its names existed (an exception, an exit at module level)."""
        _send(self.write_fd, {"failed": error[:2000]})

    def announce(self, namespace: dict) -> None:
        names = {}
        for name, value in list(namespace.items()):
            if name.startswith("__") and name.endswith("__"):
                continue
            if type(value) is types.ModuleType:
                names[name] = {"M": value.__name__}
                continue
            try:
                names[name] = self.encode(value)
            except (ValueError, RecursionError, TypeError):
                names[name] = {"H": self.handle(value)}
        _send(self.write_fd, {"names": names})

    def serve(self) -> None:
        while True:
            request = _receive(self.read_fd)
            if request is None:
                return
            try:
                response = {"ok": self._dispatch(request)}
                if request.get("op") == "call":
                    response["args"] = self.encode(self._args)
            except BaseException as e:  # noqa: BLE001 - the program's failure is data for the test side
                response = {"raise": type(e).__name__, "message": _message(e),
                            "builtin": getattr(builtins, type(e).__name__, None) is type(e)}
            try:
                _send(self.write_fd, response)
            except (ValueError, TypeError, RecursionError) as e:
                _send(self.write_fd, {"raise": "ValueError", "message": f"unsendable result: {e}", "builtin": True})

    def _dispatch(self, request: dict):
        op = request.get("op")
        target = self.resolve(request.get("h"))
        value = lambda key: decode(request.get(key), self.resolve)  # noqa: E731
        if op == "call":
            self._args = value("args")
            kwargs = value("kwargs")
            if type(self._args) is not list or type(kwargs) is not dict:
                raise ValueError("malformed call")
            return self.encode(target(*self._args, **kwargs))
        if op == "getattr":
            return self.encode(getattr(target, _str(request.get("name"))))
        if op == "setattr":
            setattr(target, _str(request.get("name")), value("value"))
            return None
        if op == "getitem":
            return self.encode(target[value("key")])
        if op == "len":
            return len(target)
        if op == "iter":
            return {"H": self.handle(iter(target))}
        if op == "next":
            return self.encode(next(target))
        if op == "bool":
            return bool(target)
        if op in ("repr", "str"):
            text = repr(target) if op == "repr" else str(target)
            return text if type(text) is str else "<unprintable>"
        raise ValueError(f"unknown operation {op!r}")


def _message(error: BaseException) -> str:
    try:
        return str(error)[:2000]
    except Exception:  # noqa: BLE001 - a program's exception may not even print
        return "<unprintable>"


# --- the test side (trusted code, plain data only) -------------------------------------

class Link:
    """The test process's end: requests out, answers back, Remote proxies for handles."""

    def __init__(self, write_fd: int, read_fd: int):
        self.write_fd, self.read_fd = write_fd, read_fd
        self.ended = False

    def names(self, entry: str | None = None, used: set[str] | None = None) -> dict:
        """What the solution defined, ready to be the test code's globals.

        Never what the test code's own tools are: a builtin's name (`abs = lambda
        x: 3` would bend `assert abs(f(x)) == 3`) or a standard module's name
        (`math = Fake()` would bend `math.isclose` in a test that relies on the
        solution's `import math`) is bound to our own builtin or our own import,
        whatever the solution bound to it. `entry`, the function under test, is
        taken from the solution even if it is named like a builtin. Only the
        names in `used` (the test code's) are bound, plus `entry`."""
        message = self._answer()
        if "failed" in message:
            raise SolutionError(f"the program failed before the tests ran: {message['failed']}")
        names = message.get("names")
        if type(names) is not dict:
            raise ValueError("malformed names")
        namespace = {}
        for name, value in names.items():
            if type(name) is not str or (name != entry and (name in _BUILTIN_NAMES or used is not None and name not in used)):
                continue
            module = value["M"] if type(value) is dict and set(value) == {"M"} and type(value["M"]) is str else None
            if name != entry and name in sys.stdlib_module_names:
                module = name
            if module is not None:
                try:
                    namespace[name] = importlib.import_module(module)  # our own, unpatched copy
                except Exception:  # noqa: BLE001 - a module only the program could import
                    pass
                continue
            namespace[name] = decode(value, self.remote)
        return namespace

    def remote(self, h: int) -> Remote:
        return Remote(self, h)

    def _handle(self, obj) -> int:
        if type(obj) is Remote:
            return object.__getattribute__(obj, "_h")
        raise TypeError(f"cannot pass a {type(obj).__name__} to the solution")

    def encode(self, value):
        return encode(value, self._handle)

    def _answer(self) -> dict:
        try:
            message = _receive(self.read_fd)
        except OSError:
            message = None
        if message is None:
            self.ended = True
            raise SolutionEnded("the program ended during a call")
        return message

    def request(self, op: str, **fields):
        if self.ended:
            raise SolutionEnded("the program has ended")
        try:
            _send(self.write_fd, {"op": op, **fields})
        except OSError:
            self.ended = True
            raise SolutionEnded("the program ended during a call") from None
        answer = self._answer()
        if "raise" in answer:
            raise _exception(answer)
        if "ok" not in answer:
            raise ValueError("malformed answer")
        self._last = answer
        return decode(answer["ok"], self.remote)

    def call(self, h: int, args: tuple, kwargs: dict):
        result = self.request("call", h=h, args=self.encode(list(args)), kwargs=self.encode(dict(kwargs)))
        after = decode(self._last.get("args"), self.remote)
        if type(after) is list and len(after) == len(args):
            for mine, theirs in zip(args, after):
                _copy_back(mine, theirs)
        return result


def _copy_back(mine, theirs) -> None:
    """What a call did to a mutable argument, done to ours."""
    if type(mine) is list and type(theirs) is list and mine != theirs:
        mine[:] = theirs
    elif type(mine) is dict and type(theirs) is dict and mine != theirs:
        mine.clear()
        mine.update(theirs)
    elif type(mine) is set and type(theirs) is set and mine != theirs:
        mine.clear()
        mine.update(theirs)
    elif type(mine) is bytearray and type(theirs) is bytearray and mine != theirs:
        mine[:] = theirs


def _exception(answer: dict) -> BaseException:
    name, message = answer.get("raise"), answer.get("message")
    message = message if type(message) is str else ""
    cls = getattr(builtins, name, None) if type(name) is str else None
    if answer.get("builtin") is True and isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:  # noqa: BLE001 - an exception type that wants other arguments
            pass
    return SolutionError(f"{name}: {message}")


class Remote:
    """An object that lives in the solution process. Equal only to itself."""

    __slots__ = ("_link", "_h")

    def __init__(self, link: Link, h: int):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_h", h)

    def _ask(self, op: str, **fields):
        return object.__getattribute__(self, "_link").request(op, h=object.__getattribute__(self, "_h"), **fields)

    def __call__(self, *args, **kwargs):
        link = object.__getattribute__(self, "_link")
        return link.call(object.__getattribute__(self, "_h"), args, kwargs)

    def __getattr__(self, name):
        return self._ask("getattr", name=name)

    def __setattr__(self, name, value):
        self._ask("setattr", name=name, value=object.__getattribute__(self, "_link").encode(value))

    def __getitem__(self, key):
        return self._ask("getitem", key=object.__getattribute__(self, "_link").encode(key))

    def __len__(self):
        n = self._ask("len")
        if type(n) is not int or n < 0:
            raise TypeError("len() of a remote object is not a non-negative int")
        return n

    def __iter__(self):
        return self._ask("iter")

    def __next__(self):
        return self._ask("next")

    def __bool__(self):
        return self._ask("bool") is True

    def __repr__(self):
        text = self._ask("repr")
        return text if type(text) is str else "<remote object>"

    def __str__(self):
        text = self._ask("str")
        return text if type(text) is str else "<remote object>"

    def __eq__(self, other):
        return type(other) is Remote and object.__getattribute__(other, "_h") == object.__getattribute__(self, "_h")

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("remote", object.__getattribute__(self, "_h")))

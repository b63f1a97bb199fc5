"""A reader and writer for the libconfig syntax of lrlab's configs (standard library only).

lrlab stores the resolved config of a run, written by libconfig, in the results file's
`config` attribute; ``parse_config`` turns that text (or any config of configs/) into
Python values, and ``format_config`` writes them back as text that lrlab reads to the same
resolved config (the e2e tests run it and compare the config SHA-256).

    libconfig               Python
    group    { a = 1; }     dict (keys in file order)
    array    [1, 2]         list   (scalars of one type)
    list     (1, "a", {})   tuple  (any values)
    integer  12, 0x1f, 7L   int    (an L suffix is not kept; format_config writes one
                                    for values beyond 32 bits)
    float    1.0, 1e-3      float
    boolean  true, FALSE    bool
    string   "a" "b"        str    (adjacent strings are joined; \\n \\t \\" \\\\ \\xNN)

Comments (#, //, /* */) are skipped.  ``@include "file"`` is read relative to include_dir
when one is given (the stored text of a run has none: libconfig resolves them).
"""

import math
import os
import re

__all__ = ["ConfigError", "parse_config", "format_config"]


class ConfigError(ValueError):
    """A syntax error, with the line it is on."""


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<include>@include[ \t]+"(?:[^"\\]|\\.)*")
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<float>[-+]?(?:[0-9]*\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)(?![A-Za-z0-9_.]))
  | (?P<int>[-+]?(?:0[xX][0-9A-Fa-f]+|0[bB][01]+|0[oOqQ][0-7]+|[0-9]+)L{0,2}(?![A-Za-z0-9_.]))
  | (?P<name>[A-Za-z*][-A-Za-z0-9_*]*)
  | (?P<punct>[=:;,{}\[\]()])
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", '"': '"', "\\": "\\"}
_NAME = re.compile(r"[A-Za-z*][-A-Za-z0-9_*]*\Z")


def _unquote(tok, line):
    out, i, body = [], 0, tok[1:-1]
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < len(body) else ""
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "x" and re.match(r"[0-9A-Fa-f]{2}", body[i + 2:i + 4]):
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        else:
            raise ConfigError("line %d: unknown escape '\\%s' in a string" % (line, e))
    return "".join(out)


def _int(tok):
    t = tok.rstrip("L")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    if t[:2] in ("0x", "0X"):
        return sign * int(t[2:], 16)
    if t[:2] in ("0b", "0B"):
        return sign * int(t[2:], 2)
    if t[:2] in ("0o", "0O", "0q", "0Q"):
        return sign * int(t[2:], 8)
    return sign * int(t, 10)


def _tokens(text, include_dir, depth=0):
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConfigError("line %d: unexpected character %r" % (line, text[pos]))
        kind, tok = m.lastgroup, m.group()
        if kind == "include":
            if include_dir is None or depth > 10:
                raise ConfigError("line %d: @include is not read here (no include_dir, or nested "
                                  "more than 10 deep)" % line)
            fname = _unquote(tok[tok.index('"'):], line)
            path = os.path.join(include_dir, fname)
            with open(path, encoding="utf-8") as f:
                for t in _tokens(f.read(), os.path.dirname(path), depth + 1):
                    yield t
        elif kind not in ("ws", "comment"):
            yield kind, tok, line
        line += tok.count("\n")
        pos = m.end()


class _Parser:
    def __init__(self, text, include_dir):
        self.toks = list(_tokens(text, include_dir))
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "", self.toks[-1][2] if self.toks else 1)

    def take(self, want=None):
        t = self.peek()
        if want is not None and t[1] != want:
            raise ConfigError("line %d: expected '%s', found %s" % (t[2], want, repr(t[1]) if t[1] else "the end"))
        self.i += 1
        return t

    def settings(self, end):
        out = {}
        while self.peek()[1] != end and self.peek()[0] != "eof":
            kind, name, line = self.take()
            if kind != "name":
                raise ConfigError("line %d: expected a setting name, found %r" % (line, name))
            if self.peek()[1] not in ("=", ":"):
                raise ConfigError("line %d: expected '=' or ':' after '%s'" % (self.peek()[2], name))
            self.take()
            if name in out:
                raise ConfigError("line %d: setting '%s' appears twice" % (line, name))
            out[name] = self.value()
            if self.peek()[1] in (";", ","):
                self.take()
        if end is not None:
            self.take(end)
        elif self.peek()[0] != "eof":
            raise ConfigError("line %d: unexpected %r" % (self.peek()[2], self.peek()[1]))
        return out

    def values(self, end, scalars):
        out = []
        while self.peek()[1] != end:
            v = self.value()
            if scalars and isinstance(v, (dict, list, tuple)):
                raise ConfigError("line %d: an array [...] holds scalars only (use a list (...))"
                                  % self.peek()[2])
            out.append(v)
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != end:
                raise ConfigError("line %d: expected ',' or '%s', found %r" % (self.peek()[2], end, self.peek()[1]))
        self.take(end)
        return out

    def value(self):
        kind, tok, line = self.take()
        if tok == "{":
            return self.settings("}")
        if tok == "[":
            return self.values("]", True)
        if tok == "(":
            return tuple(self.values(")", False))
        if kind == "string":
            s = _unquote(tok, line)
            while self.peek()[0] == "string":  # "a" "b" is "ab"
                k, t, l = self.take()
                s += _unquote(t, l)
            return s
        if kind == "int":
            return _int(tok)
        if kind == "float":
            if tok.lstrip("+-") in (".", ""):
                raise ConfigError("line %d: '%s' is not a number" % (line, tok))
            return float(tok)
        if kind == "name" and tok.lower() in ("true", "false"):
            return tok.lower() == "true"
        raise ConfigError("line %d: expected a value, found %s" % (line, repr(tok) if tok else "the end"))


def parse_config(text, include_dir=None):
    """libconfig text -> dict (see the module's table of types); ConfigError on bad syntax."""
    return _Parser(text, include_dir).settings(None)


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%dL" % v if not -2**31 <= v < 2**31 else "%d" % v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("libconfig has no %r" % v)
        return repr(v)  # shortest text that reads back as v; always has '.' or 'e'
    if isinstance(v, str):
        out = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        out = out.replace("\r", "\\r").replace("\f", "\\f")
        return '"%s"' % re.sub(r"[\x00-\x1f]", lambda m: "\\x%02x" % ord(m.group()), out)
    raise ValueError("cannot write %r (%s) as a libconfig value" % (v, type(v).__name__))


def _value(v, indent):
    pad = "  " * indent
    if isinstance(v, dict):
        if not v:
            return "{ }"
        return "{\n" + _settings(v, indent + 1) + pad + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + ", ".join(_value(x, indent) for x in v) + ")"
    return _scalar(v)


def _settings(d, indent):
    out = []
    for k, v in d.items():
        if not isinstance(k, str) or not _NAME.match(k):
            raise ValueError("%r is not a libconfig setting name" % (k,))
        out.append("  " * indent + "%s = %s;\n" % (k, _value(v, indent)))
    return "".join(out)


def format_config(d):
    """dict -> libconfig text that parse_config (and lrlab) read back to the same values."""
    return _settings(d, 0)

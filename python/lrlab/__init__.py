"""Read lrlab results files into pandas.

Put the repository's ``python/`` directory on ``PYTHONPATH`` (no install step)::

    PYTHONPATH=python /usr/bin/python3 -c 'import lrlab; r = lrlab.read("results/thm1.h5"); print(r)'

``lrlab.read(path)`` returns a :class:`Results`: ``.trials``, ``.points`` and ``.fits`` as
DataFrames (None when the file has no such table: a real_layers file has no /points),
``.table(name)`` for any other table (``r.table("layers")``), ``.tables`` their names,
``.columns(name)`` what each column means, ``.attrs`` the root attributes (text as str),
``.config`` the resolved config text the run used, and ``.config_dict`` that text parsed.

Text columns come back as str, so ``df[df.compressor == "dd_rank"]`` selects rows.  h5py
returns the string members of a compound dataset as bytes whether they are stored with
fixed or variable length (h5py 3.7, Debian 12), and the string attributes of files
written before schema version 3 as bytes too: this module decodes both.

It needs Debian's python3-h5py, python3-numpy and python3-pandas, and imports them only
when a file is read: the config parser (``parse_config``, ``format_config``, in
``lrlab.libconfig``) runs on any Python 3.
"""

from .libconfig import ConfigError, format_config, parse_config

__all__ = ["read", "Results", "parse_config", "format_config", "ConfigError"]


def _text(v):
    """bytes (fixed-length strings, files before schema version 3) -> str."""
    if isinstance(v, bytes):
        # ASCII before version 3, UTF-8 since: utf-8 reads both.  surrogateescape keeps
        # any other byte instead of failing (h5py does the same for str attributes).
        return v.decode("utf-8", "surrogateescape")
    return v


def _attr(v):
    """An attribute's value as plain Python: str, int, float, or a numpy array."""
    import numpy as np

    v = _text(v)
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, np.bytes_):
        return _text(bytes(v))
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
        return [_text(x) for x in v.tolist()]
    return v


def _frame(data):
    """A compound array as a DataFrame, every string member decoded to str."""
    import numpy as np
    import pandas as pd

    cols = {}
    for name in data.dtype.names:
        col = data[name]
        if col.dtype.kind == "S":
            col = np.char.decode(col, "utf-8", "surrogateescape").astype(object)
        elif col.dtype.kind == "O":
            col = np.array([_text(x) for x in col], dtype=object)
        cols[name] = col
    return pd.DataFrame(cols, columns=list(data.dtype.names))


class Results:
    """One results file, read into memory (the file is closed again).

    attrs        dict of the root attributes (schema, schema_version, config, seed, host, ...)
    config       the resolved config text (libconfig syntax) the run used
    config_dict  that text parsed: groups -> dict, arrays [..] -> list, lists (..) -> tuple
    tables       names of the file's tables (its compound datasets at the root)
    trials, points, fits   DataFrames, or None when the file has no such table
    """

    def __init__(self, path):
        import h5py

        self.path = str(path)
        self._tables = {}
        self._columns = {}
        with h5py.File(self.path, "r") as f:
            self.attrs = {k: _attr(f.attrs[k]) for k in f.attrs}
            if self.attrs.get("schema") != "lrlab.results":
                raise ValueError("%s: not an lrlab results file (root attribute schema = %r, "
                                 "expected 'lrlab.results')" % (self.path, self.attrs.get("schema")))
            for name, obj in f.items():
                if isinstance(obj, h5py.Dataset) and obj.dtype.names:
                    self._tables[name] = _frame(obj[()])
                    doc = _text(obj.attrs.get("columns", ""))
                    self._columns[name] = dict(line.split(": ", 1) for line in doc.splitlines()
                                               if ": " in line)
        self.config = self.attrs.get("config", "")
        self._config_dict = None

    @property
    def schema_version(self):
        return self.attrs.get("schema_version")

    @property
    def config_dict(self):
        if self._config_dict is None:
            self._config_dict = parse_config(self.config)
        return self._config_dict

    @property
    def tables(self):
        return sorted(self._tables)

    def table(self, name):
        """The table /name as a DataFrame (the same object on every call, like .trials)."""
        name = name.lstrip("/")
        if name not in self._tables:
            raise KeyError("%s: no table /%s (its tables: %s)"
                           % (self.path, name, ", ".join("/" + t for t in self.tables) or "none"))
        return self._tables[name]

    def columns(self, name):
        """{column: description} of the table /name, from its `columns` attribute."""
        self.table(name)  # the same KeyError for a missing table
        return dict(self._columns.get(name.lstrip("/"), {}))

    def _optional(self, name):
        return self.table(name) if name in self._tables else None

    @property
    def trials(self):
        return self._optional("trials")

    @property
    def points(self):
        return self._optional("points")

    @property
    def fits(self):
        return self._optional("fits")

    def __repr__(self):
        return "<lrlab results %s: experiment %s, schema version %s, tables %s>" % (
            self.path, self.attrs.get("experiment"), self.schema_version,
            ", ".join("%s (%d rows)" % (t, len(self._tables[t])) for t in self.tables))


def read(path):
    """Read the results file at path (see Results)."""
    return Results(path)

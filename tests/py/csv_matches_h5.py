#!/usr/bin/python3
"""tests/py/csv_matches_h5.py FILE.h5 DIR: the CSVs `lrlab export FILE.h5 --format csv --out
DIR` wrote, read by pandas.read_csv, hold the HDF5 tables' values: every table of the file
has its CSV, with the same columns in the same order and the same number of rows; integer
and flag columns equal, text columns equal as str, real columns equal bit for bit (NaN
where NaN).  Reals are compared as pandas reads them by default and with
float_precision="round_trip"; exit 1 if the second differs anywhere (what README
promises), the first is reported.  Prints one summary line."""
import os
import sys

import h5py
import numpy as np
import pandas as pd


def main(path, outdir):
    stem = os.path.basename(path)
    stem = stem[:-3] if stem.endswith(".h5") else stem
    problems, tables, cells, default_diff = [], 0, 0, 0
    with h5py.File(path, "r") as f:
        names = sorted(k for k, v in f.items() if isinstance(v, h5py.Dataset) and v.dtype.names)
        for name in names:
            data = f[name][()]
            csv = os.path.join(outdir, "%s_%s.csv" % (stem, name))
            if not os.path.exists(csv):
                problems.append("no %s" % csv)
                continue
            text_cols = [c for c in data.dtype.names if data.dtype[c].kind in "SO"]
            # Text stays text ("" stays "", not NaN); "nan" in a real column is NaN.
            kw = dict(dtype={c: str for c in text_cols}, keep_default_na=False, na_values=["nan"])
            exact = pd.read_csv(csv, float_precision="round_trip", **kw)
            default = pd.read_csv(csv, **kw)
            tables += 1
            if list(exact.columns) != list(data.dtype.names) or len(exact) != len(data):
                problems.append("%s: columns %s x %d rows, HDF5 %s x %d" % (name, list(exact.columns), len(exact),
                                                                          list(data.dtype.names), len(data)))
                continue
            for c in data.dtype.names:
                h = data[c]
                cells += len(h)
                if h.dtype.kind in "SO":
                    want = [x.decode("utf-8") if isinstance(x, bytes) else x for x in h]
                    if list(exact[c]) != want:
                        problems.append("%s.%s: text differs" % (name, c))
                elif h.dtype.kind == "f":
                    got = exact[c].to_numpy(dtype=np.float64)
                    same = (got.view(np.uint64) == h.astype(np.float64).view(np.uint64)) | (np.isnan(got) & np.isnan(h))
                    if not same.all():
                        i = int(np.argmin(same))
                        problems.append("%s.%s: %d reals differ (row %d: csv %r, HDF5 %r)"
                                        % (name, c, int((~same).sum()), i, got[i], h[i]))
                    d = default[c].to_numpy(dtype=np.float64)
                    default_diff += int((~((d == h) | (np.isnan(d) & np.isnan(h)))).sum())
                else:
                    if not np.array_equal(exact[c].to_numpy(), h.astype(np.int64)):
                        problems.append("%s.%s: integers differ" % (name, c))
    if not tables:
        problems.append("no tables")
    print("%d tables, %d cells compared: %s; pandas' default float parser differs in %d reals"
          % (tables, cells, "all equal (reals bit for bit)" if not problems else "; ".join(problems[:5]),
             default_diff))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

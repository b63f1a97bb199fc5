#!/usr/bin/python3
"""tests/py/configs_parse.py SRCDIR [RESULTS.h5:CONFIG ...]: lrlab.parse_config on every config
shipped in SRCDIR/configs (and configs/quick): each parses, and format_config writes text
that parses back to the same values.  For each RESULTS.h5:CONFIG pair (a run of that
config), every setting of the config file is in the run's stored config_dict with the same
value (the stored text is libconfig's own rewrite, with every default added).  The
syntax error of tests/e2e/syntax.cfg is reported on its line, as lrlab reports it.
Prints one line; exit 1 on any failure.  parse_config needs the standard library only;
the pairs need h5py (lrlab.read)."""
import glob
import os
import sys

import lrlab


def subset(a, b, where, out):
    for k, v in a.items():
        if k not in b:
            out.append("%s%s missing" % (where, k))
        elif isinstance(v, dict) and isinstance(b[k], dict):
            subset(v, b[k], where + k + ".", out)
        elif v != b[k]:
            out.append("%s%s = %r, stored %r" % (where, k, v, b[k]))


def main(srcdir, pairs):
    problems, n = [], 0
    for path in sorted(glob.glob(os.path.join(srcdir, "configs", "*.cfg")) +
                       glob.glob(os.path.join(srcdir, "configs", "quick", "*.cfg"))):
        try:
            d = lrlab.parse_config(open(path, encoding="utf-8").read(), include_dir=os.path.dirname(path))
            if "experiment" not in d or lrlab.parse_config(lrlab.format_config(d)) != d:
                problems.append("%s: no experiment, or format_config does not read back" % path)
            n += 1
        except Exception as e:
            problems.append("%s: %s" % (path, e))
    try:
        lrlab.parse_config(open(os.path.join(srcdir, "tests", "e2e", "syntax.cfg")).read())
        problems.append("tests/e2e/syntax.cfg parsed")
    except lrlab.ConfigError as e:
        if "line 2:" not in str(e):
            problems.append("syntax.cfg: %s" % e)
    for pair in pairs:
        h5, cfg = pair.split(":", 1)
        out = []
        subset(lrlab.parse_config(open(cfg, encoding="utf-8").read()), lrlab.read(h5).config_dict,
               os.path.basename(cfg) + ": ", out)
        problems += out
    print("%d shipped configs parsed and written back; %d runs hold their config's settings; %s"
          % (n, len(pairs), "; ".join(problems[:5]) if problems else "all checks hold"))
    return 1 if problems or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))

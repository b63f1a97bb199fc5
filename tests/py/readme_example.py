#!/usr/bin/python3
"""tests/py/readme_example.py README.md RESULTS.h5 WORKDIR: run README.md's pandas example as
written, in WORKDIR with RESULTS.h5 copied to results/thm1.h5 (the path the example reads).

The example is the ```python block after the comment that names this script.  Checks: it
has at most five lines; it runs; its compressor filter (`dd`) selects rows, all of them
dd_rank's; its groupby table (`med`) is not empty; its figure is a PNG.  Without
matplotlib the line that plots is left out, and the script says so.  Then it writes
WORKDIR/roundtrip.cfg from the file's config_dict with format_config, for the e2e test to
run through lrlab and compare config_sha256 (the config's round trip).  Prints one line."""
import os
import shutil
import sys


def example(readme):
    lines = open(readme, encoding="utf-8").read().splitlines()
    start = next(i for i, l in enumerate(lines) if "<!--" in l and "readme_example.py" in l)
    begin = next(i for i in range(start, len(lines)) if lines[i].startswith("```python"))
    end = next(i for i in range(begin + 1, len(lines)) if lines[i].startswith("```"))
    return lines[begin + 1:end]


def main(readme, results, workdir):
    import lrlab

    code = example(readme)
    if len([l for l in code if l.strip()]) > 5:
        print("the README example has %d lines, more than five" % len(code))
        return 1
    os.makedirs(os.path.join(workdir, "results"), exist_ok=True)
    shutil.copyfile(results, os.path.join(workdir, "results", "thm1.h5"))
    os.chdir(workdir)
    try:
        import matplotlib
        matplotlib.use("Agg")
        plot = True
    except ImportError:
        code = [l for l in code if ".plot(" not in l]
        plot = False
    ns = {}
    exec(compile("\n".join(code) + "\n", "README.md example", "exec"), ns)
    dd, med = ns["dd"], ns["med"]
    problems = []
    if len(dd) == 0 or not (dd.compressor == "dd_rank").all():
        problems.append("the compressor filter selected %d rows (%s)" % (len(dd), sorted(set(dd.compressor))))
    if med.size == 0 or not med.notna().to_numpy().any():
        problems.append("the groupby table is empty")
    png = os.path.join("results", "thm1_pandas.png")
    if plot and not (os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"):
        problems.append("no PNG figure")
    r = ns["r"]
    if not all(isinstance(v, str) for k, v in r.attrs.items() if k in ("config", "schema", "host", "experiment")):
        problems.append("root attributes are not str")
    with open("roundtrip.cfg", "w", encoding="utf-8") as f:
        f.write(lrlab.format_config(r.config_dict))
    print("README example: %d lines ran; compressor == \"dd_rank\" selected %d of %d rows; groupby %d sigma x %d r; %s; "
          "%s" % (len(code), len(dd), len(r.trials), med.shape[0], med.shape[1],
                  "figure %s (%d bytes)" % (png, os.path.getsize(png)) if plot else "plot skipped: no matplotlib",
                  "; ".join(problems) if problems else "all checks hold"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

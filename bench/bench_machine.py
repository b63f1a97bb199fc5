"""The machine and environment record shared by the benchmark drivers (bench/*_bench.py):
what the CPU is, how loaded, and which BLAS/OpenMP settings the run inherited."""
import os
import platform
import time

BLAS_ENV = ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_name():
    """The model name from /proc/cpuinfo, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_record(numpy_version, with_date=False):
    m = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
         "numpy": numpy_version, "load_average_at_start": os.getloadavg()}
    if with_date:
        m["date_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return m


def blas_environment():
    return {k: os.environ.get(k) for k in BLAS_ENV}

"""Shared by the Python benchmarks under bench/: their options, the traces they replay, the release build of
`prewarm` they run, and the tables they print. Not a benchmark itself."""
import argparse
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TRACES = os.path.join(ROOT, "..", "shared", "traces")


def parser(doc, traces=True):
    """Options parser with the script's docstring as its help and --markdown; a bad or missing value prints the
    usage and exits 2 (not a traceback). With traces, the positional TRACE arguments (files or directories)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    if traces:
        p.add_argument("traces", nargs="*", metavar="TRACE",
                       help="SWF trace files or directories of them (default: ../shared/traces)")
    return p


def seconds_list(text):
    """argparse type: a comma-separated list of positive seconds, e.g. 300,60."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds separated by commas, e.g. 300,60 (got {text!r})")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"every value must be a positive number of seconds (got {text!r})")
    return values


def positive_int(text):
    """argparse type: an integer above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {value})")
    return value


def trace_paths(given):
    """The trace files named, directories expanded to their *.swf* files; the shared traces when none is named.
    Exits with a message when there are none or one does not exist."""
    paths = []
    for a in given or [DEFAULT_TRACES]:
        if os.path.isdir(a):
            paths += sorted(glob.glob(os.path.join(a, "*.swf*")))
        elif os.path.isfile(a):
            paths.append(a)
        else:
            sys.exit(f"{a}: no such trace file or directory")
    if not paths:
        sys.exit("no traces found (name SWF files or a directory of them)")
    return paths


def build_prewarm():
    """Builds the release `prewarm` (2 jobs) and returns its path."""
    subprocess.run(["swift", "build", "-j", "2", "-c", "release", "--product", "prewarm"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, ".build", "release", "prewarm")


def emit(head, lines, markdown):
    """Prints a table: markdown, or aligned columns (the first left-aligned, the others right-aligned)."""
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for t in lines:
            print("| " + " | ".join(t) + " |")
        return
    widths = [max(len(c), *(len(t[i]) for t in lines)) for i, c in enumerate(head)]
    for t in [head] + lines:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(t, widths))))


def run_json(argv):
    """Runs a `prewarm ... --json` command and returns (its parsed JSON, its text). When it fails, its own error
    is already on standard error: exits with a line naming the command (not a traceback)."""
    run = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    if run.returncode != 0:
        sys.exit(f"{os.path.basename(argv[0])} {' '.join(argv[1:])}: exit status {run.returncode}")
    return json.loads(run.stdout), run.stdout

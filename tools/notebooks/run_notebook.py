"""Executes a notebook top to bottom with nbclient and writes the executed copy.

    python tools/notebooks/run_notebook.py quickstart.ipynb executed.ipynb

Used by the test suite (tests/cli/python.rs) so the quick-start notebook cannot
rot. Exit status 1, with the failing cell's error, when any cell fails.
"""

import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, out = sys.argv[1], sys.argv[2]
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}})
    try:
        client.execute()
    except CellExecutionError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        nbformat.write(nb, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

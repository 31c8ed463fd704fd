"""The README's quick start is python/examples/quickstart.py, and it runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quickstart_is_the_example_and_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    example = (ROOT / "examples" / "quickstart.py").read_text()
    assert blocks and blocks[0] == example
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True, text=True, check=True, cwd=ROOT.parent,
    ).stdout
    assert "medoid" in out and "batch: 100 users" in out

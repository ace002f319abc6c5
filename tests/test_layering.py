"""`runtime` is the core: importable and usable without Streamlit or the builder."""

import subprocess
import sys


def test_runtime_imports_no_ui_modules() -> None:
    code = (
        "import sys, runtime, runtime.cli, runtime.engine, runtime.store, runtime.compiler, "
        "runtime.nodes; runtime.nodes.node_types(); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('streamlit', 'streamlit_flow', 'builder', 'pages')); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

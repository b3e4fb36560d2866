"""Time `lightly-run validate` of a 200-step workflow (target: under 0.5 s on 2 cores).

Measures the whole command in a fresh interpreter (imports included) and the
validation call alone, with the real action catalog.

    python benchmarks/bench_validate.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 200


def workflow_text(steps: int = STEPS) -> str:
    lines = [
        "version: 1",
        "name: bench",
        "inputs:",
        "  n: {type: integer, default: 10}",
        "  prefix: {type: string, default: bench}",
        "defaults:",
        "  retry: {attempts: 3, backoff: 2s}",
        "  timeout: 10m",
        "steps:",
    ]
    for i in range(steps // 4):
        lines += [
            f"  - id: ds{i}",
            "    uses: create_dataset",
            f'    with: {{dataset_name: "{{{{ inputs.prefix }}}}-{i}", if_exists: reuse}}',
            f"  - id: run{i}",
            "    uses: schedule_compute_worker_run",
            "    with:",
            "      selection_config:",
            '        n_samples: "{{ inputs.n }}"',
            "        strategies: [{input: {type: EMBEDDINGS}, strategy: {type: DIVERSITY}}]",
            f"  - id: wait{i}",
            "    uses: wait_compute_worker_run",
            "    timeout: 6h",
            f'    with: {{scheduled_run_id: "{{{{ steps.run{i}.outputs.scheduled_run_id }}}}"}}',
            f"  - id: export{i}",
            "    uses: export_label_studio_tasks_by_tag_name",
            f'    if: "{{{{ steps.wait{i}.outputs.succeeded }}}}"',
            f'    with: {{tag_name: "{{{{ steps.wait{i}.outputs.tags[0].name }}}}", output: "exports/{i}.json"}}',
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    from runner.cli.catalog import load_catalog
    from runner.workflow.loader import validate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(workflow_text())
        catalog = load_catalog()
        assert validate(path, catalog) == [], validate(path, catalog)[:3]
        calls = []
        for _ in range(5):
            start = time.perf_counter()
            validate(path, catalog)
            calls.append(time.perf_counter() - start)
        commands = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "runner", "validate", str(path)],
                check=True,
                capture_output=True,
            )
            commands.append(time.perf_counter() - start)
    print(
        f"validate() of {STEPS} steps: best {min(calls):.3f} s, mean {statistics.mean(calls):.3f} s"
    )
    print(
        f"`lightly-run validate` (fresh process, imports included): best {min(commands):.3f} s, mean {statistics.mean(commands):.3f} s"
    )
    print(f"target < 0.5 s: {'met' if min(commands) < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()

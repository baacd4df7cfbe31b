#!/usr/bin/env python3
"""Prints, per crate of the workspace, its largest source file and its longest function (in lines), as the
README's structure figures report them. Functions are found in rustfmt'd source: a `fn` line and the first later
line that closes it at the same indentation. Tests (`tests/`, `benches/`, `#[cfg(test)] mod tests`) are left out.

Usage: scripts/code-shape.py [ROOT]   (default: the repository)"""
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=root,
                                 capture_output=True, text=True, check=True).stdout)
FN = re.compile(r"^(\s*)(pub(\([a-z]+\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")
rows = []
for pkg in sorted(meta["packages"], key=lambda p: p["name"]):
    src = pathlib.Path(pkg["manifest_path"]).parent / "src"
    biggest_file, biggest_fn = ("", 0), ("", 0)
    for path in sorted(src.rglob("*.rs")):
        lines = path.read_text().splitlines()
        # leave out the unit tests at the end of a file
        cut = next((i for i, l in enumerate(lines) if l.strip() == "#[cfg(test)]"), len(lines))
        lines = lines[:cut]
        rel = str(path.relative_to(root))
        if len(lines) > biggest_file[1]:
            biggest_file = (rel, len(lines))
        for i, line in enumerate(lines):
            m = FN.match(line)
            if not m or line.rstrip().endswith(";"):
                continue
            indent = m.group(1)
            for j in range(i + 1, len(lines)):
                if lines[j] == indent + "}":
                    if j - i + 1 > biggest_fn[1]:
                        biggest_fn = (f"{rel}::{m.group(8)}", j - i + 1)
                    break
    rows.append((pkg["name"], biggest_file, biggest_fn))
print(f"{'crate':<18} {'largest file (lines, tests left out)':<52} {'longest function (lines)'}")
for name, (f, fl), (fn, fnl) in rows:
    print(f"{name:<18} {f + ' ' + str(fl):<52} {fn} {fnl}")

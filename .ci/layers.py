#!/usr/bin/env python3
"""The import graph of src/ between top-level modules, its cycles, and arrows that go up a layer.

Usage: .ci/layers.py [--dot]   (exit 1 on a cycle or an upward arrow)
A reference is any `crate::m` path, including inside `use crate::{a, b::c}` groups.
"""
import os, re, sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
# Lower number = lower floor. A module may only reference modules on its own floor or below
# (same-floor arrows are allowed but must not form a cycle).
LAYERS = {
    0: ["clock", "net", "outbound", "telemetry", "metrics", "order", "phone"],
    1: ["platforms", "buzzbip"],
    2: ["stores", "invoice", "jobs", "sandbox"],
    3: ["worker", "http", "settings", "ingest", "reconcile"],
    4: ["app", "serve", "demo", "check", "cli"],
}
FLOOR = {m: f for f, ms in LAYERS.items() for m in ms}


def top_module(path):
    rel = os.path.relpath(path, SRC)
    parts = rel.replace(".rs", "").split(os.sep)
    return None if parts[0] in ("lib", "main", "bin") else parts[0]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def crate_refs(text):
    refs = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
    for group in re.findall(r"\bcrate::\{([^;]*?)\};", text, flags=re.S):
        depth, item = 0, ""
        for ch in group + ",":
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                name = item.strip().split("::")[0].split(" ")[0]
                if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name != "self":
                    refs.add(name)
                item = ""
            else:
                item += ch
    return refs


def graph():
    edges = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            m = top_module(path)
            if m is None:
                continue
            with open(path, encoding="utf-8") as fh:
                refs = crate_refs(strip_comments(fh.read()))
            edges.setdefault(m, set()).update(r for r in refs if r != m)
    return edges


def cycles(edges):
    found, seen = [], set()

    def walk(node, stack):
        for nxt in sorted(edges.get(node, ())):
            if nxt in stack:
                cyc = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    found.append(cyc)
            elif len(stack) < 12:
                walk(nxt, stack + [nxt])

    for n in sorted(edges):
        walk(n, [n])
    return found


def main():
    edges = graph()
    if "--dot" in sys.argv:
        print("digraph shopbip {")
        for m, deps in sorted(edges.items()):
            for d in sorted(deps):
                print(f'  "{m}" -> "{d}";')
        print("}")
        return 0
    bad = 0
    for m, deps in sorted(edges.items()):
        print(f"{m:10} (floor {FLOOR.get(m, '?')}) -> {' '.join(sorted(deps))}")
    for m, deps in sorted(edges.items()):
        if m not in FLOOR:
            print(f"UNPLACED: {m} has no floor in .ci/layers.py")
            bad += 1
            continue
        for d in sorted(deps):
            if d in FLOOR and FLOOR[d] > FLOOR[m]:
                print(f"UPWARD: {m} (floor {FLOOR[m]}) -> {d} (floor {FLOOR[d]})")
                bad += 1
    for c in cycles(edges):
        print("CYCLE: " + " -> ".join(c))
        bad += 1
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

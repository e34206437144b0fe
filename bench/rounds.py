"""Reads a side's JSON lines from one or more rounds of bench/compare.sh or bench/torchsharp/run.sh.

Each workload keeps its fastest round (an FMA peak its highest reading), in the order of the first round: on a shared
machine a busy minute slows whichever side ran in it, and alternating the sides round by round lets each side's best
reading come from a quiet minute. The info lines (vector width, library versions) are the first round's.
"""
import json


def read(path):
    """(workloads, infos) of the file at path: the best reading of each named workload, and the info lines."""
    best, infos = {}, []
    for line in open(path):
        if not line.startswith("{"):
            continue
        l = json.loads(line)
        if "name" not in l:
            if not any(i.get("info") == l.get("info") for i in infos):
                infos.append(l)
            continue
        b = best.get(l["name"])
        if b is None or (l["gflops"] > b["gflops"] if l["name"].startswith("peak") else l["ms"] < b["ms"]):
            best[l["name"]] = l
    return list(best.values()), infos
